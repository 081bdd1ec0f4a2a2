using System.Text;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// DARE's drop decisions, counter-based so that they depend only on (seed, tensor name, input, element index) and
    /// not on windows, threads or the order tensors are written in: the stream of input i (0 = first model) for a
    /// tensor is SplitMix64 started at state₀ = mix(mix(seed ⊕ FNV-1a-64(UTF-8 name)) + i); element j (row-major) is
    /// kept when (the stream's (j+1)-th output ≫ 11)·2⁻⁵³ &lt; d, i.e. with probability d. mix is SplitMix64's
    /// finaliser; the stream's k-th output is mix(state₀ + k·0x9E3779B97F4A7C15). tests/fixtures/merge_oracle.py
    /// implements the same generator in Python.
    /// </summary>
    internal readonly struct DareGenerator
    {
        private const ulong Gamma = 0x9E3779B97F4A7C15UL;
        private readonly ulong _state;
        private readonly double _density;

        public DareGenerator(long seed, string name, int input, double density)
        {
            _state = Mix(Mix((ulong)seed ^ Fnv1a64(name)) + (ulong)input);
            _density = density;
        }

        /// <summary>Whether element <paramref name="j"/> survives the drop.</summary>
        public bool Keeps(long j) => (Mix(_state + ((ulong)j + 1) * Gamma) >> 11) * (1.0 / (1UL << 53)) < _density;

        internal static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        internal static ulong Fnv1a64(string s)
        {
            ulong h = 0xCBF29CE484222325UL;
            foreach (var b in Encoding.UTF8.GetBytes(s)) { h ^= b; h *= 0x100000001B3UL; }
            return h;
        }
    }
}
