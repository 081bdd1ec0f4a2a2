using System.Globalization;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// torch's best time and peak RSS for one task under each oracle, measured in the same run as ours: torch 1.13 (the
    /// host's /usr/bin/python3) and torch 2.x (tools/torch2, with its best recipe: mmap, weights_only, all threads).
    /// A side that was not run (--no-torch, --no-torch2, a row torch has no recipe for) is null.
    /// </summary>
    public readonly record struct TorchTimes(double? Torch1, long Rss1, double? Torch2, long Rss2)
    {
        public static TorchTimes None => default;

        private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

        public string Seconds1 => Torch1 is double t ? F(t) : "";
        public string Seconds2 => Torch2 is double t ? F(t) : "";

        /// <summary>torch's time over ours, as the table prints it (empty when torch was not run).</summary>
        public static string Ratio(double? torch, double ours) =>
            torch is double t ? (t / ours).ToString(t / ours >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture) + "×" : "";

        public string Memory => (Rss1 > 0 ? Measure.Mb(Rss1) : "") + (Rss2 > 0 ? " / " + Measure.Mb(Rss2) : "");
    }
}
