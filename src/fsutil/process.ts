/** Whether a process exists (EPERM: it does, owned by someone else). For sweeping what dead builds left. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
