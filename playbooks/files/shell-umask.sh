# Written by rectify (playbooks/accounts.yaml, rule ACCT-SHELL-UMASK): files
# created in login shells are not readable by other users.
umask 027
