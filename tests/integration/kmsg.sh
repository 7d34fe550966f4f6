# Sourced by the integration tests that read a guest console.
# without_kmsg FILE: the console with the kernel's messages cut out,
# wherever they landed: printk may break into a line a program is writing
# ("switch-root[    7.32] Not activating ...\n /dev/vda").
without_kmsg() { perl -0pe 's/\[ *\d+\.\d+\] [^\n]*\n//g' "$1"; }
