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
        public string TensorPath { get; private set; } = "";

        /// <summary>The top-level entry holding the tensor: state_dict, optimizer_states, callbacks … ("" for the top object).</summary>
        public string Section => _section ??= TensorPath.IndexOf('.') is int dot && dot >= 0 ? TensorPath.Substring(0, dot) : TensorPath;

        /// <summary>torch's dtype name: float32, bfloat16 …</summary>
        public string DType { get; private set; } = "";
        public TensorShape Shape => _shape ??= new TensorShape(Tensor.Shape);

        /// <summary>Elements to step over per dimension, as torch's Tensor.stride().</summary>
        public TensorShape Stride => _stride ??= new TensorShape(Tensor.Stride);

        // Made when first read: Import-Ckpt and Get-CkptTensor make one CkptTensor per tensor of the file, and most of
        // them are never asked for their shape objects or section.
        private TensorShape? _shape, _stride;
        private string? _section;
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

        /// <summary>
        /// Absolute file offset of the storage's bytes (-1 when compressed or not in the file). Read when first asked
        /// for: in a zip it needs the entry's local header, which listing tensors does not read (a damaged header
        /// throws <see cref="CheckpointFormatException"/> here, as reading the data would).
        /// </summary>
        public long StorageFileOffset => _storageFileOffset ??= Tensor.Storage?.FileOffset ?? -1;

        private long? _storageFileOffset;

        /// <summary>
        /// The checkpoint file, named FullName like CkptInfo.FullName; the tensor's own place is <see cref="TensorPath"/>.
        /// </summary>
        public string FullName { get; private set; } = "";

        /// <summary>The checkpoint file provider-qualified: a tensor piped to Get-Item or Get-CkptInfo binds it to -LiteralPath.</summary>
        public string PSPath => FileSystemPSPath.Of(FullName);

        /// <summary>SHA-256 of the row-major little-endian elements; filled by -Hash.</summary>
        public string? Sha256 { get; internal set; }

        /// <summary>Smallest value (-Statistics; complex: magnitude).</summary>
        public double? Min { get; internal set; }
        public double? Max { get; internal set; }
        public double? Mean { get; internal set; }

        /// <summary>Sample standard deviation as torch.std's default (unbiased, correction = 1); NaN for one element.</summary>
        public double? Std { get; internal set; }
        public double? L2Norm { get; internal set; }
        public long? NaNCount { get; internal set; }
        public long? InfCount { get; internal set; }
        public double? ZeroFraction { get; internal set; }

        /// <summary>The underlying reference, for the data engine; internal, so serialisers never walk the engine's graph.</summary>
        internal TensorRef Tensor { get; private set; } = null!;

        /// <summary>Shape as text, e.g. [768, 3072].</summary>
        public string ShapeText => Shape.ToString();

        // outputDType: the dtype the tensor is written as (Select-CkptWeights -DType); null: its own
        internal static CkptTensor Create(string file, string name, string path, TensorRef t, bool shared, DType? outputDType = null) => new CkptTensor
        {
            Name = name,
            TensorPath = path,
            DType = (outputDType ?? t.DType).Name,
            StorageOffset = t.StorageOffset,
            Numel = t.Numel,
            Bytes = outputDType == null ? t.NBytes : outputDType.BytesFor(t.Numel),
            IsContiguous = t.IsContiguous,
            IsShared = shared,
            RequiresGrad = t.RequiresGrad,
            IsParameter = t.IsParameter,
            Layout = t.Layout,
            Device = t.Device,
            StorageKey = t.Storage?.Key,
            FullName = file,
            Tensor = t,
        };

        /// <summary>The checkpoint the tensor was listed from; lets ToArray/Preview read its values.</summary>
        internal Checkpoint? Source { get; set; }

        /// <summary>
        /// The elements in row-major order as double (see <see cref="Data.TensorAnalysis"/> for the conversion: complex
        /// tensors give magnitudes, per-tensor quantized tensors are dequantized). Throws
        /// <see cref="InvalidOperationException"/> when the tensor has more than <paramref name="maxElements"/> elements
        /// (raise the cap to read it) or has no readable numeric data.
        /// </summary>
        public unsafe double[] ToArray(long maxElements = 1_000_000)
        {
            if (Numel > maxElements)
                throw new InvalidOperationException($"{Name} has {Numel} elements, more than the cap of {maxElements}; pass a larger maxElements to read it");
            return Read(Numel);
        }

        /// <summary>The first few values (up to 6), e.g. "[0.1234, -1.5, …]"; "" when the tensor has no readable numbers.</summary>
        public string Preview
        {
            get
            {
                if (Source == null || !Tensor.HasData || Data.ViewGeometry.Of(Tensor) == null) return "";
                var v = Read(Math.Min(Numel, 6));
                var parts = v.Select(x => x.ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
                return "[" + string.Join(", ", parts) + (Numel > v.Length ? ", …]" : "]");
            }
        }

        private unsafe double[] Read(long count)
        {
            if (Source == null) throw new InvalidOperationException($"{Name} is not attached to a checkpoint");
            if (!Tensor.HasData) throw new InvalidOperationException($"{Name} {Tensor.NoDataReason}");
            var g = Data.ViewGeometry.Of(Tensor) ?? throw new InvalidOperationException($"{Name} has dtype {DType}, whose elements are not numbers");
            if (count == Numel) Data.DistinctView.CheckMaterialisable(Tensor, FullName, "reading every element");
            var result = new double[count];
            if (count == 0) return result;
            using var reader = new Data.TensorDataReader();
            var kernel = new Data.ViewGeometry(g.DType, new long[] { 0 }, new long[] { 1 }, 0, false, g.Scale, g.ZeroPoint);
            int item = Tensor.DType.ItemSize;
            long chunk = Math.Min(count, Data.TensorDataReader.ChunkSize / item);
            var bytes = new byte[chunk * item];
            fixed (byte* src = bytes)
            fixed (double* p = result)
                for (long done = 0; done < count;)
                {
                    int n = (int)Math.Min(chunk, count - done);
                    reader.ReadElements(Tensor, done, n, bytes);
                    Data.ElementBlock.Convert(src, n, kernel, p + done);
                    done += n;
                }
            return result;
        }

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
                foreach (var w in weights) result.Add(Attach(Create(c.FilePath, w.Name, w.Path, w.Tensor, Shared(w.Tensor)), c));
                return result;
            }
            var byPath = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
            foreach (var w in weights) byPath[w.Path] = w;
            foreach (var e in c.AllTensors)
            {
                var name = byPath.TryGetValue(e.Path, out var w) ? w.Name : e.Path;
                result.Add(Attach(Create(c.FilePath, name, e.Path, e.Tensor, Shared(e.Tensor)), c));
            }
            return result;
        }

        private static CkptTensor Attach(CkptTensor t, Checkpoint c)
        {
            t.Source = c;
            return t;
        }

        private static StorageRef Root(StorageRef s) => s.ViewRoot ?? s;

        public override string ToString() => Name;
    }
}
