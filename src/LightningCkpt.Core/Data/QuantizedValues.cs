using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// torch's dequantize() of the quantized tensors the element path cannot describe with one scale: per-channel
    /// affine (a scale and zero point per index along the axis) and the packed quint4x2 / quint2x4 (low bits first).
    /// Values are float32 as torch gives them: per channel (float)((q − zero_point) × scale) with the double scales
    /// torch keeps, packed per-tensor ((float)q − zero_point) × (float)scale like the other per-tensor types.
    /// </summary>
    internal static class QuantizedValues
    {
        /// <summary>Whether <see cref="Moments"/> can dequantize <paramref name="t"/> (and <see cref="ViewGeometry.Of"/> cannot).</summary>
        public static bool Handles(TensorRef t)
        {
            if (t.DType.Kind != DTypeKind.Quantized || !t.HasData || t.Quantizer is not { } q) return false;
            if (q.Scheme == "per_channel_affine")
                return q.Scales is { HasData: true } s && q.ZeroPoints is { HasData: true } z && q.Axis is long axis
                    && axis >= 0 && axis < t.Shape.Length && s.Numel == t.Shape[axis] && z.Numel == t.Shape[axis] && t.DType.BitsPerElement >= 8;
            return q.Scheme == "per_tensor_affine" && q.Scale != null && t.DType.BitsPerElement < 8 && t.IsContiguous;
        }

        /// <summary>torch's statistics of t.dequantize().</summary>
        public static TensorAnalysis.Moments Moments(TensorRef t, TensorDataReader reader)
        {
            if (t.Numel == 0) return TensorAnalysis.Moments.Empty;
            var acc = new TensorAnalysis.MomentsAccumulator(new ViewGeometry(DType.Float32, new[] { t.Numel }, new long[] { 1 }, 0, false));
            var q = t.Quantizer!;
            int chunk = (int)Math.Min(t.Numel, TensorDataReader.ChunkSize / 4);
            var floats = new byte[chunk * 4];
            if (q.Scheme == "per_channel_affine")
            {
                var scales = Read(q.Scales!, reader);
                var zeros = Read(q.ZeroPoints!, reader);
                int axis = (int)q.Axis!.Value;
                long inner = 1;
                for (int i = axis + 1; i < t.Shape.Length; i++) inner *= t.Shape[i];
                long channels = t.Shape[axis];
                var raw = new byte[chunk * t.DType.ItemSize];
                for (long at = 0; at < t.Numel; at += chunk)
                {
                    int n = (int)Math.Min(chunk, t.Numel - at);
                    reader.ReadElements(t, at, n, raw);
                    for (int i = 0; i < n; i++)
                    {
                        long c = (at + i) / inner % channels;
                        Put(floats, i, (float)((Quantum(raw, i, t.DType) - zeros[c]) * scales[c]));
                    }
                    acc.Add(floats, n * 4);
                }
                return acc.Total;
            }
            int bits = t.DType.BitsPerElement, perByte = 8 / bits, mask = (1 << bits) - 1;
            float scale = (float)q.Scale!.Value, zero = q.ZeroPoint ?? 0;
            var packed = new byte[(chunk + perByte - 1) / perByte];
            chunk -= chunk % perByte; // whole bytes per read, as sub-byte elements are addressed
            for (long at = 0; at < t.Numel; at += chunk)
            {
                int n = (int)Math.Min(chunk, t.Numel - at);
                reader.ReadElements(t, at, n, packed);
                for (int i = 0; i < n; i++)
                    Put(floats, i, ((float)((packed[i / perByte] >> (i % perByte * bits)) & mask) - zero) * scale);
                acc.Add(floats, n * 4);
            }
            return acc.Total;
        }

        private static double[] Read(TensorRef t, TensorDataReader reader)
        {
            var bytes = new byte[t.NBytes];
            reader.ReadElements(t, 0, (int)t.Numel, bytes);
            var v = new double[t.Numel];
            for (int i = 0; i < v.Length; i++) v[i] = ElementDecoder.ToDouble(bytes, i * t.DType.ItemSize, t.DType);
            return v;
        }

        private static int Quantum(byte[] raw, int i, DType d) => d.ScalarTypeId switch
        {
            12 => (sbyte)raw[i],                    // qint8
            13 => raw[i],                           // quint8
            14 => BitConverter.ToInt32(raw, i * 4), // qint32 (little-endian as read)
            _ => throw new InvalidOperationException($"per-channel {d.Name} is not dequantized here"),
        };

        private static unsafe void Put(byte[] b, int i, float v)
        {
            fixed (byte* p = b) ((float*)p)[i] = v;
        }
    }
}
