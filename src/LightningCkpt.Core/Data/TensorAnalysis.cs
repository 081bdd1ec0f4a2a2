using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>Fills a tensor's hash and statistics from one streaming pass over its bytes.</summary>
    public static class TensorAnalysis
    {
        public static void Analyze(CkptTensor tensor, TensorDataReader reader, bool hash, bool statistics)
        {
            if (!tensor.Tensor.HasData) return;
            if (statistics) throw new NotImplementedException("statistics are specified by issue 4");
            if (hash) tensor.Sha256 = reader.Sha256(tensor.Tensor);
        }
    }
}
