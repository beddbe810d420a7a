"""What every marketplace sandbox shares."""
