"""The casebridge admin command."""
