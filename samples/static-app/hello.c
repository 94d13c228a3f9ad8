/* A small C program, linked statically: it needs nothing from the image but itself. */
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
  struct utsname u;
  if (uname(&u) != 0) return 1;
  printf("Hello from a static C program: %s, pid %d, uid %d\n", u.sysname, (int)getpid(), (int)getuid());
  return 0;
}
