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

        public new bool Equals(object? x, object? y)
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
                    for (int i = 0; i < a.Count; i++) if (!Equals(a[i], tb[i])) return false;
                    return true;
                default: return ReferenceEquals(x, y);
            }
        }

        public int GetHashCode(object? obj)
        {
            if (obj is null) return 0;
            obj = Normalize(obj);
            switch (obj)
            {
                case string s: return StringComparer.Ordinal.GetHashCode(s);
                case long l: return l.GetHashCode();
                case BigInteger b: return b.GetHashCode();
                case double d: return d.GetHashCode();
                case byte[] a:
                    unchecked
                    {
                        int h = a.Length;
                        for (int i = 0; i < a.Length && i < 64; i++) h = h * 31 + a[i];
                        return h;
                    }
                case PyGlobal g: return g.GetHashCode();
                case PyTuple t:
                    unchecked
                    {
                        int h = 17;
                        for (int i = 0; i < t.Count; i++) h = h * 31 + GetHashCode(t[i]);
                        return h;
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
