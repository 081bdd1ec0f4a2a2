using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Lightning;
using LightningCkpt.Torch;

namespace LightningCkpt
{
    /// <summary>One tensor of a checkpoint: what Get-CkptTensor emits.</summary>
    public sealed class CkptTensor
    {
        private CkptTensor() { }

        /// <summary>The key inside the weights dict (encoder.0.weight), or the full path for tensors outside it.</summary>
        public string Name { get; private set; } = "";

        /// <summary>The dotted path from the top object: state_dict.encoder.0.weight, optimizer_states.0.state.3.exp_avg.</summary>
        public string Path { get; private set; } = "";

        /// <summary>The top-level entry holding the tensor: state_dict, optimizer_states, callbacks … ("" for the top object).</summary>
        public string Section { get; private set; } = "";

        /// <summary>torch's dtype name: float32, bfloat16 …</summary>
        public string DType { get; private set; } = "";
        public long[] Shape { get; private set; } = Array.Empty<long>();
        public long[] Stride { get; private set; } = Array.Empty<long>();
        public long StorageOffset { get; private set; }
        public long Numel { get; private set; }

        /// <summary>Bytes of the elements (numel × element size).</summary>
        public long Bytes { get; private set; }
        public bool IsContiguous { get; private set; }

        /// <summary>True when another tensor in the file views the same storage.</summary>
        public bool IsShared { get; private set; }
        public bool RequiresGrad { get; private set; }
        public bool IsParameter { get; private set; }
        public string Layout { get; private set; } = "strided";
        public string Device { get; private set; } = "cpu";
        public string? StorageKey { get; private set; }

        /// <summary>Absolute file offset of the storage's bytes (-1 when compressed or not in the file).</summary>
        public long StorageFileOffset { get; private set; } = -1;

        /// <summary>The checkpoint file.</summary>
        public string File { get; private set; } = "";

        /// <summary>SHA-256 of the row-major little-endian elements; filled by -Hash.</summary>
        public string? Sha256 { get; internal set; }

        /// <summary>Smallest value (-Statistics; complex: magnitude).</summary>
        public double? Min { get; internal set; }
        public double? Max { get; internal set; }
        public double? Mean { get; internal set; }

        /// <summary>Population standard deviation, as torch.std(unbiased=False).</summary>
        public double? Std { get; internal set; }
        public double? L2Norm { get; internal set; }
        public long? NaNCount { get; internal set; }
        public long? InfCount { get; internal set; }
        public double? ZeroFraction { get; internal set; }

        /// <summary>The underlying reference, for the data engine.</summary>
        public TensorRef Tensor { get; private set; } = null!;

        /// <summary>Shape as text, e.g. [768, 3072].</summary>
        public string ShapeText => "[" + string.Join(", ", Shape) + "]";

        internal static CkptTensor Create(string file, string name, string path, TensorRef t, bool shared) => new CkptTensor
        {
            Name = name,
            Path = path,
            Section = path.Length == 0 ? "" : path.Split('.')[0],
            DType = t.DType.Name,
            Shape = (long[])t.Shape.Clone(),
            Stride = (long[])t.Stride.Clone(),
            StorageOffset = t.StorageOffset,
            Numel = t.Numel,
            Bytes = t.NBytes,
            IsContiguous = t.IsContiguous,
            IsShared = shared,
            RequiresGrad = t.RequiresGrad,
            IsParameter = t.IsParameter,
            Layout = t.Layout,
            Device = t.Device,
            StorageKey = t.Storage?.Key,
            StorageFileOffset = t.Storage?.FileOffset ?? -1,
            File = file,
            Tensor = t,
        };

        /// <summary>
        /// The tensors of a checkpoint: the model weights (named by their key), or with <paramref name="all"/>
        /// every tensor anywhere (weights keep their key as name, others are named by their path).
        /// </summary>
        public static List<CkptTensor> List(Checkpoint c, bool all)
        {
            var storageUse = new Dictionary<StorageRef, int>();
            foreach (var e in c.AllTensors)
                if (e.Tensor.Storage is { } s) storageUse[Root(s)] = storageUse.TryGetValue(Root(s), out var n) ? n + 1 : 1;
            bool Shared(TensorRef t) => t.Storage is { } s && storageUse.TryGetValue(Root(s), out var n) && n > 1;

            var weights = c.View.Weights;
            var result = new List<CkptTensor>();
            if (!all)
            {
                foreach (var w in weights) result.Add(Create(c.FilePath, w.Name, w.Path, w.Tensor, Shared(w.Tensor)));
                return result;
            }
            var byPath = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
            foreach (var w in weights) byPath[w.Path] = w;
            foreach (var e in c.AllTensors)
            {
                var name = byPath.TryGetValue(e.Path, out var w) ? w.Name : e.Path;
                result.Add(Create(c.FilePath, name, e.Path, e.Tensor, Shared(e.Tensor)));
            }
            return result;
        }

        private static StorageRef Root(StorageRef s) => s.ViewRoot ?? s;

        public override string ToString() => Name;
    }
}
