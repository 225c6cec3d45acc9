"""EBOs (Eigen Beheerde Omgevingen): systems units built and run themselves, registered and reviewed."""
