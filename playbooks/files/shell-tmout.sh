# Written by rectify (playbooks/accounts.yaml, rule ACCT-SHELL-TMOUT): idle
# interactive shells exit after 15 minutes; readonly keeps users from
# unsetting it.
TMOUT=900
readonly TMOUT
export TMOUT
