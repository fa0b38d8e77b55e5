// Package dirlock keeps a directory to one process: an exclusive advisory
// lock (flock) on a lock file inside it, held for as long as the process
// uses the directory. The file names the holder, so that a refused process
// can say who has the directory. The kernel drops the lock when its holder
// exits, crashed or not, so a stale file never blocks anyone.
package dirlock
