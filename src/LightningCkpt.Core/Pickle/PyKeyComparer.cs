using System;
using System.Collections.Generic;
using System.Numerics;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// Python's equality for hashable values: 1 == 1.0 == True, tuples compare by items, strings and bytes by
    /// content, globals by name. Anything else (lists, dicts, inert objects) compares by identity.
    /// </summary>
    public sealed class PyKeyComparer : IEqualityComparer<object?>
    {
        public static readonly PyKeyComparer Instance = new PyKeyComparer();

        // Hashes are mixed with a per-process random seed so a hostile pickle cannot choose keys that all land in one
        // bucket (ints i<<32|i, tuples, bytes sharing a prefix would otherwise make dict building quadratic).
        private static readonly ulong Seed = (ulong)new Random().Next() << 32 ^ (ulong)Environment.TickCount ^ 0x9E3779B97F4A7C15UL;

        /// <summary>Nesting depth beyond which tuple keys are compared and hashed no further (hostile 1M-deep tuples).</summary>
        private const int MaxKeyDepth = 256;

        private static int Mix(ulong v)
        {
            v ^= Seed;
            v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9UL;
            v = (v ^ (v >> 27)) * 0x94D049BB133111EBUL;
            return (int)(v ^ (v >> 31));
        }

        public new bool Equals(object? x, object? y) => Equals(x, y, 0);

        private bool Equals(object? x, object? y, int depth)
        {
            if (ReferenceEquals(x, y)) return true;
            if (x is null || y is null) return false;
            x = Normalize(x);
            y = Normalize(y);
            switch (x)
            {
                case string s: return y is string t && string.Equals(s, t, StringComparison.Ordinal);
                case long a: return y is long lb && a == lb;
                case BigInteger a: return y is BigInteger bb && a == bb;
                case double a: return y is double db && a.Equals(db);
                case byte[] a: return y is byte[] yb && BytesEqual(a, yb);
                case PyGlobal g: return g.Equals(y);
                case PyTuple a:
                    if (y is not PyTuple tb || a.Count != tb.Count) return false;
                    if (depth >= MaxKeyDepth) throw new PickleDataException($"a tuple used as a key is nested deeper than {MaxKeyDepth}", CheckpointErrorKind.LimitExceeded);
                    for (int i = 0; i < a.Count; i++) if (!Equals(a[i], tb[i], depth + 1)) return false;
                    return true;
                default: return ReferenceEquals(x, y);
            }
        }

        public int GetHashCode(object? obj) => GetHashCode(obj, 0);

        private int GetHashCode(object? obj, int depth)
        {
            if (obj is null) return 0;
            obj = Normalize(obj);
            switch (obj)
            {
                case string s: return StringComparer.Ordinal.GetHashCode(s);
                case long l: return Mix((ulong)l);
                case BigInteger b: return Mix((ulong)b.GetHashCode() ^ (ulong)b.ToByteArray().Length << 40);
                case double d: return Mix((ulong)BitConverter.DoubleToInt64Bits(d));
                case byte[] a:
                    unchecked
                    {
                        ulong h = (ulong)a.Length;
                        for (int i = 0; i < a.Length; i++) h = (h ^ a[i]) * 0x100000001B3UL;
                        return Mix(h);
                    }
                case PyGlobal g: return g.GetHashCode();
                case PyTuple t:
                    unchecked
                    {
                        ulong h = (ulong)t.Count;
                        if (depth < MaxKeyDepth)
                            for (int i = 0; i < t.Count; i++) h = (h ^ (uint)GetHashCode(t[i], depth + 1)) * 0x100000001B3UL;
                        return Mix(h);
                    }
                default: return System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
            }
        }

        private static object Normalize(object v)
        {
            switch (v)
            {
                case bool b: return b ? 1L : 0L;
                case int i: return (long)i;
                case BigInteger bi when bi >= long.MinValue && bi <= long.MaxValue: return (long)bi;
                case double d when d == Math.Floor(d) && d >= long.MinValue && d <= long.MaxValue && !double.IsInfinity(d): return (long)d;
                default: return v;
            }
        }

        private static bool BytesEqual(byte[] a, byte[] b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }
    }
}
