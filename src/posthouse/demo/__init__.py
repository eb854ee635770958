"""The synthetic shoot and the end-to-end demo."""
