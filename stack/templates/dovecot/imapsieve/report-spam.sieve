# Rendered by Mailroom. IMAPSieve runs this when a message is copied, moved or
# appended into Junk, from any IMAP client: the message goes to the training queue
# as spam (the pipe program reads it on stdin; nothing of it is on a command line).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment"];

pipe :copy "mailroom-learn" ["spam"];
