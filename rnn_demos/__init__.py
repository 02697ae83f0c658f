"""Pure functions and thin widgets behind the course's chapters and demos."""
