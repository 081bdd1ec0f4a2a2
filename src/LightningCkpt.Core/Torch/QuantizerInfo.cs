using System.Collections.Generic;

namespace LightningCkpt.Torch
{
    /// <summary>The quantizer parameters of a quantized tensor, kept as pickled.</summary>
    public sealed class QuantizerInfo
    {
        public QuantizerInfo(string scheme, double? scale, long? zeroPoint, TensorRef? scales, TensorRef? zeroPoints, long? axis)
        {
            Scheme = scheme;
            Scale = scale;
            ZeroPoint = zeroPoint;
            Scales = scales;
            ZeroPoints = zeroPoints;
            Axis = axis;
        }

        /// <summary>per_tensor_affine, per_channel_affine, per_channel_affine_float_qparams …</summary>
        public string Scheme { get; }
        public double? Scale { get; }
        public long? ZeroPoint { get; }
        public TensorRef? Scales { get; }
        public TensorRef? ZeroPoints { get; }
        public long? Axis { get; }

        public IEnumerable<TensorRef> Tensors
        {
            get
            {
                if (Scales != null) yield return Scales;
                if (ZeroPoints != null) yield return ZeroPoints;
            }
        }
    }
}
