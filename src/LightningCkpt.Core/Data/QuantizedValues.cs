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
            var dq = new Dequantizer(t, reader, (int)Math.Min(t.Numel, TensorDataReader.ChunkSize / 4));
            var floats = new float[dq.Chunk];
            var bytes = new byte[dq.Chunk * 4];
            for (long at = 0; at < t.Numel; at += dq.Chunk)
            {
                int n = dq.Fill(at, floats);
                Buffer.BlockCopy(floats, 0, bytes, 0, n * 4);
                acc.Add(bytes, n * 4);
            }
            return acc.Total;
        }

        /// <summary>t.dequantize() in row-major chunks of <see cref="Chunk"/> elements (whole bytes of packed ones).</summary>
        internal sealed class Dequantizer
        {
            private readonly TensorRef _t;
            private readonly TensorDataReader _reader;
            private readonly int _bits, _perByte, _mask;
            private readonly byte[] _raw;
            private readonly bool _perChannel, _floatZeros;
            private readonly double[] _scales = Array.Empty<double>(), _zeros = Array.Empty<double>();
            private readonly float[] _fscales = Array.Empty<float>(), _fzeros = Array.Empty<float>();
            private readonly long _inner = 1, _channels = 1;
            private readonly float _scale, _zero;

            public Dequantizer(TensorRef t, TensorDataReader reader, int chunk)
            {
                _t = t;
                _reader = reader;
                var q = t.Quantizer!;
                _bits = t.DType.BitsPerElement;
                _perByte = _bits < 8 ? 8 / _bits : 1;
                _mask = _bits < 8 ? (1 << _bits) - 1 : 0;
                if (_bits < 8 && chunk > _perByte) chunk -= chunk % _perByte; // whole bytes per read, as sub-byte elements are addressed
                Chunk = chunk;
                _raw = new byte[_bits < 8 ? (chunk + _perByte - 1) / _perByte : chunk * t.DType.ItemSize];
                _perChannel = PerChannel(q);
                if (_perChannel)
                {
                    _scales = Read(q.Scales!, reader);
                    _zeros = Read(q.ZeroPoints!, reader);
                    _floatZeros = q.ZeroPoints!.DType.IsFloatingPoint;
                    _fscales = _scales.Select(x => (float)x).ToArray();
                    _fzeros = _zeros.Select(x => (float)x).ToArray();
                    int axis = (int)q.Axis!.Value;
                    for (int i = axis + 1; i < t.Shape.Length; i++) _inner *= t.Shape[i];
                    _channels = t.Shape[axis];
                }
                else
                {
                    _scale = (float)q.Scale!.Value;
                    _zero = q.ZeroPoint ?? 0;
                }
            }

            /// <summary>Elements per <see cref="Fill"/>.</summary>
            public int Chunk { get; }

            /// <summary>The dequantized elements [at, at + Chunk) (fewer at the end) into dst; returns how many.</summary>
            public int Fill(long at, float[] dst)
            {
                int n = (int)Math.Min(Chunk, _t.Numel - at);
                _reader.ReadElements(_t, at, n, _raw);
                for (int i = 0; i < n; i++)
                {
                    int q = _bits < 8 ? (_raw[i / _perByte] >> (i % _perByte * _bits)) & _mask : Whole(_raw, i, _t.DType);
                    if (!_perChannel) dst[i] = (float)((float)q - _zero) * _scale;
                    else
                    {
                        long c = (at + i) / _inner % _channels;
                        dst[i] = _floatZeros ? (float)((float)q - _fzeros[c]) * _fscales[c] : (float)((q - _zeros[c]) * _scales[c]);
                    }
                }
                return n;
            }
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

    }
}
