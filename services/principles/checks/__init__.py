"""Compliance checks: does a subject comply with the principles, or is every deviation explained?
Asked before a change that starts the work (approving or activating an initiative), so that
"pas toe of leg uit" holds in advance. Nothing is recorded."""
