using System;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// torch's lazy conjugate and negative views (saved as <c>_rebuild_tensor_v2(..., {'conj': True})</c> /
    /// <c>{'neg': True}</c>): the stored bytes are the unresolved values, and torch applies the bit on every use. A
    /// writer that emits a fresh tensor without the bit must write the resolved values, as <c>resolve_conj()</c> and
    /// <c>resolve_neg()</c> make them: floating elements (and complex parts) change sign by their sign bit (NaNs keep
    /// their payload, as x86's negation does), integers by two's complement.
    /// </summary>
    internal static class ViewBits
    {
        /// <summary>Whether <paramref name="t"/> carries a conj or neg bit; a writer then resolves its values.</summary>
        public static bool Has(TensorRef t) => Conj(t) || Neg(t);

        /// <summary>"", "conj", "neg" or "conj+neg": part of the identity of what a view's elements are.</summary>
        public static string Tag(TensorRef t) => (Conj(t) ? "conj" : "") + (Conj(t) && Neg(t) ? "+" : "") + (Neg(t) ? "neg" : "");

        /// <summary>The tensor's row-major bytes with its conj/neg bits applied, in chunks (see <see cref="Data.TensorDataReader.ReadRowMajor(TensorRef, Action{byte[], int})"/>).</summary>
        public static void ReadResolved(Data.TensorDataReader reader, TensorRef t, Action<byte[], int> sink) =>
            reader.ReadRowMajor(t, (b, n) =>
            {
                Resolve(t, b, n); // the read-ahead slot is this pass's own buffer
                sink(b, n);
            });

        private static bool Conj(TensorRef t) => t.DType.IsComplex && Flag(t, "conj");

        private static bool Neg(TensorRef t) => Flag(t, "neg");

        private static bool Flag(TensorRef t, string key) => t.Metadata is PyDict d && d.TryGetValue(key, out var v) && v is bool b && b;

        /// <summary>Resolves <paramref name="count"/> bytes of whole elements of <paramref name="t"/> in place.</summary>
        public static void Resolve(TensorRef t, byte[] buffer, int count)
        {
            bool conj = Conj(t), neg = Neg(t);
            if (!conj && !neg) return;
            var d = t.DType;
            if (d.IsComplex)
            {
                // conj negates the imaginary part; neg both; conj+neg the real part only
                int part = d.ItemSize / 2;
                bool real = neg, imag = conj ^ neg;
                for (int i = 0; i + d.ItemSize <= count; i += d.ItemSize)
                {
                    if (real) buffer[i + part - 1] ^= 0x80;
                    if (imag) buffer[i + 2 * part - 1] ^= 0x80;
                }
                return;
            }
            switch (d.Kind)
            {
                case DTypeKind.Float:
                case DTypeKind.BFloat:
                case DTypeKind.Float8:
                    for (int i = d.ItemSize - 1; i < count; i += d.ItemSize) buffer[i] ^= 0x80;
                    return;
                case DTypeKind.SignedInt:
                case DTypeKind.UnsignedInt:
                    for (int i = 0; i + d.ItemSize <= count; i += d.ItemSize) NegateInteger(buffer, i, d.ItemSize);
                    return;
                default:
                    throw new WeightsRequestException(WeightsRequestProblem.DTypeNotWritable, $"a negative view of a {d.Name} tensor cannot be resolved");
            }
        }

        // two's complement of a little-endian integer: invert, then add one
        private static void NegateInteger(byte[] b, int at, int width)
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
