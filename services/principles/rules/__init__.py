"""Rules as code: CEL expressions over ``subject``, checked when saved and run in a separate process."""
