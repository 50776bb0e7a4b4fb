"""The directory Postfix and Dovecot read: domains, mailboxes, groups, aliases, shared mailboxes.

Also each domain's disclaimer, set-password links and the demo domain.
"""
