# Rendered by Mailroom. IMAPSieve runs this when a message is copied or moved out of
# Junk: anywhere but Trash, it goes to the training queue as ham.
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment"];

if environment :is "imap.mailbox" ["Trash", "Junk"] {
  stop;
}
pipe :copy "mailroom-learn" ["ham"];
