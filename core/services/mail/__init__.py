"""Reading and writing mail: folders and lists, one message, compose, attachments, suggestions."""
