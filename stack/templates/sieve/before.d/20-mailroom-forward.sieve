# Mailroom: forwarding (portal Forwarding page, admin mailbox page: the same columns
# mailboxes.forward_address / forward_keep_copy). Dovecot's userdb hands them over as
# sieve_env_mailroom_forward and sieve_env_mailroom_forward_keep.
require ["copy", "variables", "environment", "vnd.dovecot.environment"];

if environment :matches "vnd.dovecot.config.mailroom_forward" "?*@?*" {
    if environment :is "vnd.dovecot.config.mailroom_forward_keep" "yes" {
        redirect :copy "${env.vnd.dovecot.config.mailroom_forward}";
    } else {
        # Without a copy nothing stays here, so the person's own rules have nothing to do.
        redirect "${env.vnd.dovecot.config.mailroom_forward}";
        stop;
    }
}
