# Mailroom: "Move messages marked as spam to Junk" (portal Spam & Junk page).
# Dovecot's userdb sets sieve_env_mailroom_spam_to_junk = yes for the mailboxes that
# want it; Rspamd marks spam with `X-Spam: Yes`. `stop` keeps spam away from the
# person's own filters, forwarding and vacation replies.
require ["fileinto", "mailbox", "environment", "vnd.dovecot.environment"];

if allof (environment :is "vnd.dovecot.config.mailroom_spam_to_junk" "yes",
          header :is "X-Spam" "Yes") {
    fileinto :create "Junk";
    stop;
}
