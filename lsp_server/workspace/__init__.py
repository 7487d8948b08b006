"""Finding the files of a workspace and deciding which of them are worth reading."""
