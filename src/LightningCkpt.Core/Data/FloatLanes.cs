using System.Numerics;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Where the float32 kernels of <see cref="SimdKernels"/> take their lanes from: stored float32 (a plain load),
    /// or bfloat16 bits widened and moved up in registers by <see cref="VectorDecode"/>'s per-vector conversion, so
    /// those blocks go from the read buffer straight into the kernel without a float32 copy. float16 has no source:
    /// its conversion (about fifteen vector operations and ten constants) next to the kernel's ten accumulators spilled
    /// registers and ran ~1.6× slower than decoding a block and reducing it, measured on AVX2. The
    /// kernels are generic over the source: the JIT compiles one loop per struct and inlines the loads. Element i
    /// (the scalar tails, the shift, the exact redo) is the float32 the scalar decoder gives, as double, so a kernel
    /// over a source sees exactly the floats it would see in the decoded block, in the same order.
    /// Only code that runs when <see cref="SimdKernels.Available"/> names these types (their methods carry
    /// Vector&lt;T&gt;), which is why <see cref="FloatRun"/> stays the run of the scalar fallbacks.
    /// </summary>
    internal interface IFloatLanes : IElementRun
    {
        /// <summary>True when one load gives two vectors (bfloat16 widened): kernels then step two vectors at a time.</summary>
        bool Pairs { get; }

        /// <summary>Elements [i, i + w) as float32 (w = Vector&lt;float&gt;.Count). A pair source needs i ≥ w: it loads [i − w, i + w).</summary>
        Vector<float> Load(int i);

        /// <summary>Elements [i, i + 2w) as two vectors.</summary>
        void Load(int i, out Vector<float> lo, out Vector<float> hi);
    }

    internal readonly unsafe struct Float32Lanes : IFloatLanes
    {
        private readonly float* _p;
        public Float32Lanes(float* p) => _p = p;
        public bool Pairs => false;
        public double this[int i] => _p[i];
        public Vector<float> Load(int i) => *(Vector<float>*)(_p + i);

        public void Load(int i, out Vector<float> lo, out Vector<float> hi)
        {
            lo = *(Vector<float>*)(_p + i);
            hi = *(Vector<float>*)(_p + i + Vector<float>.Count);
        }
    }

    internal readonly unsafe struct BFloat16Lanes : IFloatLanes
    {
        private readonly ushort* _p;
        public BFloat16Lanes(ushort* p) => _p = p;
        public bool Pairs => true;
        public double this[int i]
        {
            get
            {
                uint bits = VectorDecode.BFloat16Bits(_p[i]);
                return *(float*)&bits;
            }
        }

        public Vector<float> Load(int i)
        {
            VectorDecode.BFloat16Lanes(*(Vector<ushort>*)(_p + i - Vector<float>.Count), out _, out var hi);
            return hi;
        }

        public void Load(int i, out Vector<float> lo, out Vector<float> hi) => VectorDecode.BFloat16Lanes(*(Vector<ushort>*)(_p + i), out lo, out hi);
    }

    /// <summary>Which stored dtypes have a lane source.</summary>
    internal static class FloatLanes
    {
        /// <summary>float32, bfloat16: a kernel reads them in place.</summary>
        public static bool Of(DType d) => d.ScalarTypeId == 6 || Widened(d);

        /// <summary>bfloat16: widened in registers.</summary>
        public static bool Widened(DType d) => d.ScalarTypeId == 15;
    }
}
