using System.Globalization;

namespace LightningCkpt
{
    /// <summary>Values stored with at most float32 precision, written back as the decimal a person would read.</summary>
    public static class SinglePrecision
    {
        /// <summary>
        /// The double nearest to the shortest decimal that round-trips <paramref name="value"/> as a float32:
        /// (double)0.9f is 0.899999976158142, Shortest gives 0.9. Distinct floats stay distinct and in order.
        /// </summary>
        public static double Shortest(double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value)) return value;
            float f = (float)value;
            if (float.IsInfinity(f)) return value;
            // "R" is the round-trip form on every runtime (.NET Framework included); parse it back as a double
            return double.Parse(f.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
    }
}
