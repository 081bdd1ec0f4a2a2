using System.Diagnostics;
using System.Management.Automation;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Progress for the byte-reading cmdlets, as the FileSystem provider does it: nothing for the first 2 seconds,
    /// then at most one record every 200 ms, and a Completed record at the end.
    /// </summary>
    internal sealed class ThrottledProgress
    {
        internal const double ThresholdSeconds = 2.0;
        internal const long IntervalMilliseconds = 200;

        private readonly Cmdlet _cmdlet;
        private readonly int _activityId;
        private readonly string _activity;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _last = -IntervalMilliseconds;

        public ThrottledProgress(Cmdlet cmdlet, int activityId, string activity)
        {
            _cmdlet = cmdlet;
            _activityId = activityId;
            _activity = activity;
        }

        public void Report(string status, long done, long total)
        {
            if (_clock.Elapsed.TotalSeconds < ThresholdSeconds) return;
            long now = _clock.ElapsedMilliseconds;
            if (now - _last < IntervalMilliseconds) return;
            _last = now;
            int percent = total > 0 ? (int)System.Math.Min(100, System.Math.Max(0, done * 100 / total)) : -1;
            _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, string.IsNullOrEmpty(status) ? " " : status) { PercentComplete = percent });
        }

        public void Complete()
        {
            _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, "Done") { RecordType = ProgressRecordType.Completed, PercentComplete = 100 });
        }
    }
}
