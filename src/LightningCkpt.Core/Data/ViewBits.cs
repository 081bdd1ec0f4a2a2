using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Applies torch's conjugate and negative view bits to element bytes read from the storage, as
    /// t.resolve_conj().resolve_neg() does: conj negates the imaginary part of complex elements, neg negates every
    /// part. Floats negate by their sign bit (torch's -x: -0.0 and NaN signs included), integers by two's complement.
    /// Writers that copy values rather than storages get torch's values from <see cref="TensorDataReader.ReadElements"/>.
    /// </summary>
    public static class ViewBits
    {
        /// <summary>Whether reading <paramref name="t"/> changes its stored bytes (conj of a real tensor changes nothing):
        /// a writer then writes its read values instead of sharing its storage.</summary>
        public static bool Applies(TensorRef t) => t.IsNeg || (t.IsConj && t.DType.IsComplex);

        /// <summary>"", "conj", "neg" or "conj+neg": part of the identity of what a view's elements are (tied tensors).</summary>
        public static string Tag(TensorRef t)
        {
            bool conj = t.IsConj && t.DType.IsComplex;
            return (conj ? "conj" : "") + (conj && t.IsNeg ? "+" : "") + (t.IsNeg ? "neg" : "");
        }

        /// <summary>Resolves <paramref name="count"/> little-endian elements of <paramref name="t"/>'s dtype in place.</summary>
        public static void Resolve(TensorRef t, byte[] elements, int count)
        {
            var d = t.DType;
            if (d.IsComplex)
            {
                int part = d.ItemSize / 2;
                bool negRe = t.IsNeg, negIm = t.IsNeg ^ t.IsConj;
                for (int i = 0; i < count; i++)
                {
                    int at = i * d.ItemSize;
                    if (negRe) FlipSign(elements, at, part);
                    if (negIm) FlipSign(elements, at + part, part);
                }
                return;
            }
            if (!t.IsNeg) return; // conj of a real tensor is the tensor
            switch (d.Kind)
            {
                case DTypeKind.Float:
                case DTypeKind.BFloat:
                case DTypeKind.Float8:
                    for (int i = 0; i < count; i++) FlipSign(elements, i * d.ItemSize, d.ItemSize);
                    return;
                case DTypeKind.SignedInt:
                case DTypeKind.UnsignedInt:
                    for (int i = 0; i < count; i++) Negate(elements, i * d.ItemSize, d.ItemSize);
                    return;
                default:
                    throw new InvalidOperationException($"a negative view of {d.Name} elements has no meaning in torch");
            }
        }

        /// <summary>The sign bit is the top bit of the last (little-endian) byte.</summary>
        private static void FlipSign(byte[] b, int at, int width) => b[at + width - 1] ^= 0x80;

        /// <summary>Two's complement negation of a little-endian integer of <paramref name="width"/> bytes (wrapping).</summary>
        private static void Negate(byte[] b, int at, int width)
        {
            int carry = 1;
            for (int k = 0; k < width; k++)
            {
                int v = (byte)~b[at + k] + carry;
                b[at + k] = (byte)v;
                carry = v >> 8;
            }
        }
    }
}
