using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// The geometry of a readable view in the form the data engine walks: element dtype, sizes, strides (in
    /// elements) and offset. A complex tensor can be presented as its real/imaginary components: a view of the
    /// component dtype with one more trailing dimension of 2.
    /// </summary>
    internal readonly struct ViewGeometry
    {
        public ViewGeometry(DType dtype, long[] shape, long[] stride, long offset, bool bigEndian, double scale = 1, double zeroPoint = 0)
        {
            DType = dtype; Shape = shape; Stride = stride; Offset = offset; BigEndian = bigEndian; Scale = scale; ZeroPoint = zeroPoint;
            long n = 1;
            foreach (var s in shape) n *= s;
            Numel = n;
        }

        public DType DType { get; }
        public long[] Shape { get; }
        public long[] Stride { get; }
        public long Offset { get; }
        public long Numel { get; }
        public bool BigEndian { get; }

        /// <summary>Per-tensor affine dequantization: value = (q − ZeroPoint) × Scale (identity for other dtypes).</summary>
        public double Scale { get; }
        public double ZeroPoint { get; }
        public bool IsAffine => Scale != 1 || ZeroPoint != 0;

        /// <summary>The tensor as numbers; complex tensors give their magnitudes (<see cref="ElementBlock.ComplexMagnitude"/>).</summary>
        public static ViewGeometry? Of(TensorRef t)
        {
            if (!ElementBlock.IsNumeric(t.DType) || !t.HasData) return null;
            double scale = 1, zp = 0;
            if (t.DType.Kind == DTypeKind.Quantized)
            {
                if (t.Quantizer == null || t.Quantizer.Scheme != "per_tensor_affine" || t.Quantizer.Scale == null) return null;
                scale = t.Quantizer.Scale.Value;
                zp = t.Quantizer.ZeroPoint ?? 0;
            }
            return new ViewGeometry(t.DType, t.Shape, t.Stride, t.StorageOffset, t.Storage?.IsBigEndian ?? false, scale, zp);
        }

        /// <summary>The tensor as real numbers: complex tensors become (…, 2) views of their real and imaginary parts.</summary>
        public static ViewGeometry? Components(TensorRef t)
        {
            if (!t.DType.IsComplex) return Of(t);
            if (!t.HasData) return null;
            var comp = ElementBlock.ComponentType(t.DType);
            int nd = t.Shape.Length;
            var shape = new long[nd + 1];
            var stride = new long[nd + 1];
            for (int i = 0; i < nd; i++) { shape[i] = t.Shape[i]; stride[i] = t.Stride[i] * 2; }
            shape[nd] = 2;
            stride[nd] = 1;
            return new ViewGeometry(comp, shape, stride, t.StorageOffset * 2, t.Storage?.IsBigEndian ?? false);
        }
    }

    /// <summary>
    /// Converts runs of stored elements to double without allocation: every integer type (uint64 included), bool,
    /// float16/bfloat16/float32/float64, the float8 variants, per-tensor quantized (dequantized in float32 as torch
    /// does), and complex (as magnitude |re + i·im|, rounded to float32 for complex64 and to float16 for complex32, as torch.abs gives). Narrow float formats go through exact lookup tables.
    /// </summary>
    internal static unsafe class ElementBlock
    {
        private static double[]? _half;
        private static readonly double[]?[] _f8 = new double[64][];

        /// <summary>Whether the dtype's elements can be turned into numbers (not sub-byte, bits or opaque types).</summary>
        /// <remarks>bcomplex32 has no torch.abs to match, so no magnitude (its components compare, see <see cref="ComponentType"/>).</remarks>
        public static bool IsNumeric(DType d) =>
            d.BitsPerElement >= 8 && d.Kind != DTypeKind.Bits && d.Kind != DTypeKind.Opaque && !ReferenceEquals(d, DType.BComplex32);

        public static DType ComponentType(DType complex) =>
            ReferenceEquals(complex, DType.Complex32) ? DType.Float16 : ReferenceEquals(complex, DType.Complex64) ? DType.Float32
            : ReferenceEquals(complex, DType.BComplex32) ? DType.BFloat16 : DType.Float64;

        private static double[] HalfTable()
        {
            var t = _half;
            if (t != null) return t;
            t = new double[65536];
            for (int i = 0; i < 65536; i++) t[i] = ElementConverter.HalfToDouble((ushort)i);
            return _half = t;
        }

        private static double[] F8Table(DType d)
        {
            var t = _f8[d.ScalarTypeId];
            if (t != null) return t;
            t = new double[256];
            for (int i = 0; i < 256; i++) t[i] = ElementConverter.Float8ToDouble((byte)i, d);
            return _f8[d.ScalarTypeId] = t;
        }

        public static double ComplexMagnitude(double re, double im)
        {
            // hypot without overflow for large parts, as torch.abs does
            double a = Math.Abs(re), b = Math.Abs(im);
            if (double.IsInfinity(a) || double.IsInfinity(b)) return double.PositiveInfinity;
            if (a < b) { var x = a; a = b; b = x; }
            if (a == 0 || double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) || double.IsNaN(b) ? double.NaN : 0;
            double r = b / a;
            return a * Math.Sqrt(1 + r * r);
        }

        /// <summary>
        /// Converts <paramref name="n"/> consecutive little-endian elements at <paramref name="src"/> to double.
        /// Big-endian storages are swapped to little-endian when read (TensorDataReader.SwapToLittleEndian).
        /// </summary>
        public static void Convert(byte* src, int n, in ViewGeometry g, double* dst)
        {
            var d = g.DType;
            switch (d.ScalarTypeId)
            {
                case 6: { var p = (float*)src; int i = 0; for (; i + 4 <= n; i += 4) { dst[i] = p[i]; dst[i + 1] = p[i + 1]; dst[i + 2] = p[i + 2]; dst[i + 3] = p[i + 3]; } for (; i < n; i++) dst[i] = p[i]; return; }
                case 7: Buffer.MemoryCopy(src, dst, (long)n * 8, (long)n * 8); return;
                case 5: { var tb = HalfTable(); var p = (ushort*)src; fixed (double* t = tb) for (int i = 0; i < n; i++) dst[i] = t[p[i]]; return; }
                case 15: { var p = (ushort*)src; for (int i = 0; i < n; i++) { uint bits = (uint)p[i] << 16; dst[i] = *(float*)&bits; } return; }
                case 0: case 11: for (int i = 0; i < n; i++) dst[i] = src[i]; break;
                case 1: { var p = (sbyte*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 2: { var p = (short*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 3: { var p = (int*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 4: { var p = (long*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 27: { var p = (ushort*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 28: { var p = (uint*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 29: { var p = (ulong*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 12: { var p = (sbyte*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                case 13: for (int i = 0; i < n; i++) dst[i] = src[i]; break;
                case 14: { var p = (int*)src; for (int i = 0; i < n; i++) dst[i] = p[i]; break; }
                // torch.abs of complex32 is float16: the float32 magnitude rounded to half
                case 8: { var tb = HalfTable(); var p = (ushort*)src; fixed (double* t = tb) for (int i = 0; i < n; i++) dst[i] = t[Writing.ElementEncoder.ToHalf((float)ComplexMagnitude(t[p[2 * i]], t[p[2 * i + 1]]))]; return; }
                case 9: { var p = (float*)src; for (int i = 0; i < n; i++) dst[i] = (float)ComplexMagnitude(p[2 * i], p[2 * i + 1]); return; }
                case 10: { var p = (double*)src; for (int i = 0; i < n; i++) dst[i] = ComplexMagnitude(p[2 * i], p[2 * i + 1]); return; }
                default:
                    if (d.Kind == DTypeKind.Float8)
                    {
                        fixed (double* t = F8Table(d)) for (int i = 0; i < n; i++) dst[i] = t[src[i]];
                        return;
                    }
                    throw new InvalidOperationException($"{d.Name} elements cannot be converted to numbers");
            }
            if (g.IsAffine)
            {
                // torch dequantizes in float32: (float)(q - zero_point) * (float)scale
                float s = (float)g.Scale, z = (float)g.ZeroPoint;
                for (int i = 0; i < n; i++) dst[i] = ((float)dst[i] - z) * s;
            }
        }
    }
}
