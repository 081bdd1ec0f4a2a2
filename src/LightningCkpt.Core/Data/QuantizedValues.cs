using System;
using System.Linq;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// torch's dequantize() of the quantized tensors the element path cannot describe with one scale: per-channel
    /// affine (a scale and zero point per index along the axis) and the packed quint4x2 / quint2x4 (low bits first,
    /// packed across the whole tensor, rows included), per tensor or per channel. Values are float32 as torch gives
    /// them: per channel with integer zero points (float)((q − zero_point) × scale) with the double scales torch keeps;
    /// per channel with float zero points (per_channel_affine_float_qparams, which torch.save spells
    /// per_channel_affine: quantized embedding bags) ((float)q − zero_point) × scale in float32; packed per-tensor
    /// ((float)q − zero_point) × (float)scale like the other per-tensor types.
    /// </summary>
    internal static class QuantizedValues
    {
        /// <summary>Whether <see cref="Moments"/> can dequantize <paramref name="t"/> (and <see cref="ViewGeometry.Of"/> cannot).</summary>
        public static bool Handles(TensorRef t)
        {
            if (t.DType.Kind != DTypeKind.Quantized || !t.HasData || t.Quantizer is not { } q) return false;
            bool packed = t.DType.BitsPerElement < 8;
            if (packed && !t.IsContiguous) return false; // sub-byte elements are addressed in row-major order only
            if (PerChannel(q))
                return q.Scales is { HasData: true } s && q.ZeroPoints is { HasData: true } z && q.Axis is long axis
                    && axis >= 0 && axis < t.Shape.Length && s.Numel == t.Shape[axis] && z.Numel == t.Shape[axis];
            return q.Scheme == "per_tensor_affine" && q.Scale != null && packed;
        }

        private static bool PerChannel(QuantizerInfo q) => q.Scheme == "per_channel_affine" || q.Scheme == "per_channel_affine_float_qparams";

        /// <summary>torch's statistics of t.dequantize().</summary>
        public static TensorAnalysis.Moments Moments(TensorRef t, TensorDataReader reader)
        {
            if (t.Numel == 0) return TensorAnalysis.Moments.Empty;
            var acc = new TensorAnalysis.MomentsAccumulator(new ViewGeometry(DType.Float32, new[] { t.Numel }, new long[] { 1 }, 0, false));
            var q = t.Quantizer!;
            int bits = t.DType.BitsPerElement, perByte = bits < 8 ? 8 / bits : 1, mask = bits < 8 ? (1 << bits) - 1 : 0;
            int chunk = (int)Math.Min(t.Numel, TensorDataReader.ChunkSize / 4);
            if (bits < 8 && chunk > perByte) chunk -= chunk % perByte; // whole bytes per read, as sub-byte elements are addressed
            var floats = new byte[chunk * 4];
            var raw = new byte[bits < 8 ? (chunk + perByte - 1) / perByte : chunk * t.DType.ItemSize];
            int Quantum(int i) => bits < 8 ? (raw[i / perByte] >> (i % perByte * bits)) & mask : Whole(raw, i, t.DType);

            bool perChannel = PerChannel(q);
            double[] scales = Array.Empty<double>(), zeros = Array.Empty<double>();
            float[] fscales = Array.Empty<float>(), fzeros = Array.Empty<float>();
            bool floatZeros = false;
            long inner = 1, channels = 1;
            if (perChannel)
            {
                scales = Read(q.Scales!, reader);
                zeros = Read(q.ZeroPoints!, reader);
                floatZeros = q.ZeroPoints!.DType.IsFloatingPoint;
                fscales = scales.Select(x => (float)x).ToArray();
                fzeros = zeros.Select(x => (float)x).ToArray();
                int axis = (int)q.Axis!.Value;
                for (int i = axis + 1; i < t.Shape.Length; i++) inner *= t.Shape[i];
                channels = t.Shape[axis];
            }
            float scale = perChannel ? 0 : (float)q.Scale!.Value, zero = perChannel ? 0 : q.ZeroPoint ?? 0;
            for (long at = 0; at < t.Numel; at += chunk)
            {
                int n = (int)Math.Min(chunk, t.Numel - at);
                reader.ReadElements(t, at, n, raw);
                for (int i = 0; i < n; i++)
                {
                    float v;
                    if (!perChannel) v = (float)((float)Quantum(i) - zero) * scale;
                    else
                    {
                        long c = (at + i) / inner % channels;
                        v = floatZeros ? (float)((float)Quantum(i) - fzeros[c]) * fscales[c] : (float)((Quantum(i) - zeros[c]) * scales[c]);
                    }
                    Put(floats, i, v);
                }
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

        private static int Whole(byte[] raw, int i, DType d) => d.ScalarTypeId switch
        {
            12 => (sbyte)raw[i],                    // qint8
            13 => raw[i],                           // quint8
            14 => BitConverter.ToInt32(raw, i * 4), // qint32 (little-endian as read)
            _ => throw new InvalidOperationException($"{d.Name} is not dequantized here"),
        };

        private static unsafe void Put(byte[] b, int i, float v)
        {
            fixed (byte* p = b) ((float*)p)[i] = v;
        }
    }
}
