using System.Threading;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Test hook for the whole process (internal; Pester sets it by reflection): every storage read first waits
    /// this many milliseconds per MB it reads, one read at a time across all threads, so reading 1 GiB takes at
    /// least 1024 × this on any machine, however fast or many-cored. The Ctrl+C tests use it to stop work that is
    /// certainly still running. Zero (no wait) unless a test sets it.
    /// </summary>
    internal static class ReadHooks
    {
        internal static volatile int DelayPerMegabyteMilliseconds;

        private static readonly object Serial = new object();

        internal static void BeforeRead(int bytes)
        {
            int ms = DelayPerMegabyteMilliseconds;
            if (ms <= 0) return;
            int wait = (int)(((long)ms * bytes + (1 << 20) - 1) >> 20);
            lock (Serial) Thread.Sleep(wait);
        }
    }
}
