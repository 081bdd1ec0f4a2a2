using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics;
using LightningCkpt.Data;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>What to select from a checkpoint and how to rename and cast it.</summary>
    public sealed class SelectOptions
    {
        /// <summary>Keep a tensor when this returns true for its original name (cmdlet: -Include/-Exclude wildcards); null = all.</summary>
        public Func<string, bool>? Filter { get; set; }

        /// <summary>Prefixes removed from names, first match wins (model., module., _orig_mod., _forward_module.).</summary>
        public IReadOnlyList<string> StripPrefixes { get; set; } = Array.Empty<string>();
        public string? AddPrefix { get; set; }

        /// <summary>Cast floating tensors to this dtype (float16, bfloat16, float32, float64); null = keep.</summary>
        public DType? CastTo { get; set; }

        /// <summary>Write a Lightning checkpoint that load_from_checkpoint accepts instead of a plain state dict.</summary>
        public bool KeepMetadata { get; set; }

        /// <summary>Receives notes about what was left out (hyper-parameter entries that are not plain data …).</summary>
        public Action<string>? Warn { get; set; }

        /// <summary>Cancellation and bytes read while writing; null = not cancellable.</summary>
        public Data.ReadProgress? Progress { get; set; }

        /// <summary>Select from the model weights or from their EMA/SWA copy.</summary>
        public Merging.WeightsSource Source { get; set; } = Merging.WeightsSource.Model;

        /// <summary>Leave out the averaged copy held among the model weights (model_ema.* …), to slim a checkpoint.</summary>
        public bool ExcludeAveraged { get; set; }
    }

    /// <summary>One selected tensor under its new name.</summary>
    public sealed class SelectedTensor
    {
        public SelectedTensor(string originalName, string name, TensorRef tensor)
        {
            OriginalName = originalName;
            Name = name;
            Tensor = tensor;
        }

        public string OriginalName { get; }
        public string Name { get; }
        public TensorRef Tensor { get; }
    }

    /// <summary>The output file kinds.</summary>
    public enum WeightsFileFormat { TorchZip, Safetensors }

    /// <summary>Selects, renames and casts model weights, and writes them as a torch zip or safetensors file.</summary>
    public static class WeightSelection
    {
        private static readonly DType[] CastTargets = { DType.Float16, DType.BFloat16, DType.Float32, DType.Float64 };

        public static IReadOnlyList<SelectedTensor> Select(Checkpoint source, SelectOptions options)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (options.CastTo != null && !CastTargets.Contains(options.CastTo))
                throw new ArgumentException($"cannot cast to {options.CastTo.Name}; choose float16, bfloat16, float32 or float64");
            var result = new List<SelectedTensor>();
            var byName = new Dictionary<string, string>(StringComparer.Ordinal);
            var weights = options.Source == Merging.WeightsSource.Model ? source.View.Weights : WeightsOf(source, options.Source);
            foreach (var w in weights)
            {
                if (options.Filter != null && !options.Filter(w.Name)) continue;
                if (options.ExcludeAveraged && options.Source == Merging.WeightsSource.Model && Lightning.AveragedWeightsLocator.IsAveragedName(w.Name)) continue;
                string name = w.Name;
                foreach (var prefix in options.StripPrefixes)
                {
                    if (!string.IsNullOrEmpty(prefix) && name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length)
                    {
                        name = name.Substring(prefix.Length);
                        break;
                    }
                }
                if (!string.IsNullOrEmpty(options.AddPrefix)) name = options.AddPrefix + name;
                if (byName.TryGetValue(name, out var other))
                    throw new WeightsRequestException(WeightsRequestProblem.NameCollision, $"'{w.Name}' and '{other}' would both be written as '{name}'; change -StripPrefix/-AddPrefix or the filter");
                byName[name] = w.Name;
                var t = w.Tensor;
                if (NotWritable(t) is { } why)
                    throw new WeightsRequestException(WeightsRequestProblem.TensorNotWritable, $"'{w.Name}' {why}");
                result.Add(new SelectedTensor(w.Name, name, t));
            }
            return result;
        }

        /// <summary>The weights a cmdlet reads from <paramref name="c"/>: the model's, or the first EMA/SWA copy found.</summary>
        public static IReadOnlyList<Lightning.NamedTensor> WeightsOf(Checkpoint c, Merging.WeightsSource source)
        {
            if (source == Merging.WeightsSource.Model)
            {
                if (c.View.Weights.Count == 0) throw new WeightsRequestException(WeightsRequestProblem.NoWeightsSelected, $"'{c.FilePath}' holds no model weights");
                return c.View.Weights;
            }
            var found = Lightning.AveragedWeightsLocator.Find(c.Root, c.View);
            if (found.Count == 0)
                throw new WeightsRequestException(WeightsRequestProblem.NoWeightsSelected, $"'{c.FilePath}' holds no EMA or SWA copy of its weights (none in callback state, state_dict_ema, or model_ema.* names)");
            return found[0].Weights;
        }

        /// <summary>
        /// Why a tensor cannot be written as a dense weight (Select, Merge), or null when it can: sparse, nested, meta,
        /// quantized and wrapper-subclass tensors are not a storage plus a view. Export-Ckpt of the whole graph carries
        /// them with torch's own rebuild functions.
        /// </summary>
        internal static string? NotWritable(TensorRef t)
        {
            const string export = "; Import-Ckpt <file> | Export-Ckpt writes it as torch does";
            if (t.Layout.StartsWith("sparse", StringComparison.Ordinal)) return $"is a {t.Layout} sparse tensor: its values live in index and value tensors, not in one dense storage a weights file holds" + export;
            if (t.Layout == "nested") return "is a nested tensor (tensors of different shapes), not one dense tensor a weights file holds" + export;
            if (t.Device == "meta") return $"is a meta tensor: the file records its dtype ({t.DType.Name}) and shape but holds no values";
            if (t.Quantizer != null || t.DType.Kind == DTypeKind.Quantized)
                return $"is a quantized tensor ({t.DType.Name}); a weights file of plain tensors would lose its scale and zero point" + export;
            if (t.SubclassType != null && t.Storage == null) return $"is a {t.SubclassType.Module}.{t.SubclassType.Name} tensor subclass with no storage of its own" + export;
            if (!t.HasData) return $"has no data in the file (layout {t.Layout}, device {t.Device}) and cannot be written";
            return null;
        }

        /// <summary>The dtype <paramref name="t"/> is written as: the cast target for floating tensors, else its own.</summary>
        public static DType OutputDType(TensorRef t, DType? cast) => cast != null && t.DType.IsFloatingPoint ? cast : t.DType;

        /// <summary>
        /// The selected weights as they would be written: new names, the cast dtype and its byte sizes. They describe
        /// the output, so they are not attached to the source for reading values.
        /// </summary>
        public static List<CkptTensor> Describe(Checkpoint source, IReadOnlyList<SelectedTensor> selected, SelectOptions options)
        {
            var originals = new Dictionary<string, CkptTensor>(StringComparer.Ordinal);
            foreach (var t in CkptTensor.List(source, all: false)) originals[t.Name] = t;
            var result = new List<CkptTensor>(selected.Count);
            foreach (var s in selected)
            {
                originals.TryGetValue(s.OriginalName, out var original);
                result.Add(CkptTensor.Create(source.FilePath, s.Name, original?.TensorPath ?? s.OriginalName, s.Tensor, original?.IsShared ?? false,
                    OutputDType(s.Tensor, options.CastTo)));
            }
            return result;
        }

        /// <summary>Writes atomically: a temporary file in the target folder, then a rename. Never touches the source.</summary>
        public static void Write(Checkpoint source, IReadOnlyList<SelectedTensor> tensors, SelectOptions options, string outFile, WeightsFileFormat format, bool overwrite)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            if (tensors == null) throw new ArgumentNullException(nameof(tensors));
            options ??= new SelectOptions();
            if (tensors.Count == 0)
                throw new WeightsRequestException(WeightsRequestProblem.NoWeightsSelected, $"no model weight of '{source.FilePath}' matches the selection; nothing was written");
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in tensors)
                if (!names.Add(s.Name)) throw new ArgumentException($"duplicate output name '{s.Name}'");

            var cast = options.CastTo;
            if (cast != null && !CastTargets.Contains(cast))
                throw new ArgumentException($"cannot cast to {cast.Name}; choose float16, bfloat16, float32 or float64");

            using var pool = new ReaderPool(options.Progress);
            var outs = new List<OutTensor>();
            var tied = new TiedTensors();
            foreach (var s in tensors)
            {
                var t = s.Tensor;
                bool cast1 = !ReferenceEquals(OutputDType(t, cast), t.DType);
                if (!cast1 && !NeedsOwnStorage(source, t) && !Data.ViewBits.Applies(t))
                {
                    outs.Add(OutTensor.FromSource(s.Name, source, t)); // the zip writer shares source storages itself
                    continue;
                }
                if (tied.Find(t, OutputDType(t, cast)) is { } first)
                {
                    outs.Add(OutTensor.TiedTo(s.Name, first));
                    continue;
                }
                var o = cast1 ? CastProducer(s.Name, source, t, cast!, pool, options.Warn)
                    : OutTensor.FromProducer(s.Name, t.DType, t.Shape, t.RequiresGrad, sink => pool.Get(source).ReadRowMajor(t, sink));
                tied.Add(t, o);
                outs.Add(o);
            }

            WriteFile(outFile, overwrite, OutputGuard.FilesOf(source), outs, format, options.KeepMetadata ? source : null, Remote.RemoteUrl.FileNameOf(source.FilePath), options.Warn, pool,
                options.Progress?.Cancellation ?? default);
        }

        /// <summary>
        /// Writes <paramref name="outs"/> atomically as a bare state dict or safetensors file, or, with
        /// <paramref name="metadataFrom"/> a Lightning checkpoint, as a checkpoint carrying its epoch, step, version and
        /// hyper-parameters (what load_from_checkpoint needs). Select-CkptWeights and Merge-CkptWeights share it.
        /// </summary>
        internal static void WriteFile(string outFile, bool overwrite, IEnumerable<string> sources, IReadOnlyList<OutTensor> outs, WeightsFileFormat format,
            Checkpoint? metadataFrom, string sourceDescription, Action<string>? warn, ReaderPool pool, System.Threading.CancellationToken cancel)
        {
            var view = metadataFrom?.View;
            bool meta = view != null && view.IsLightning;
            if (view != null && !view.IsLightning)
                warn?.Invoke($"'{metadataFrom!.FilePath}' is not a Lightning checkpoint; writing a plain state dict");

            AtomicFile.Write(outFile, overwrite, sources, stream =>
            {
                if (format == WeightsFileFormat.Safetensors)
                {
                    var md = new List<KeyValuePair<string, string>>
                    {
                        new KeyValuePair<string, string>("format", "pt"),
                        new KeyValuePair<string, string>("source", sourceDescription),
                    };
                    if (meta)
                    {
                        if (view!.Epoch is long e) md.Add(new KeyValuePair<string, string>("epoch", e.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                        if (view.GlobalStep is long g) md.Add(new KeyValuePair<string, string>("global_step", g.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                        if (view.LightningVersion != null) md.Add(new KeyValuePair<string, string>("pytorch-lightning_version", view.LightningVersion));
                    }
                    SafetensorsWriter.Write(stream, outs, md, pool);
                }
                else
                {
                    var stateDict = StateDict(outs);
                    object root = stateDict;
                    var written = outs;
                    if (meta)
                    {
                        var extra = new List<OutTensor>(); // tensors among the hyper-parameters
                        root = LightningRoot(metadataFrom!, stateDict, warn, extra, pool);
                        written = outs.Concat(extra).ToList();
                    }
                    TorchZipWriter.Write(stream, root, written, TorchZipWriter.ArchiveNameFor(outFile), pool);
                }
            }, cancel);
        }

        /// <summary>
        /// Consolidation: a tensor assembled from chunks, or a view into a larger partition of a sharded checkpoint
        /// (DeepSpeed's flat groups), is streamed into a storage of its own, so the output holds exactly its bytes.
        /// </summary>
        internal static bool NeedsOwnStorage(Checkpoint source, TensorRef t) =>
            t.IsChunked || (source.Sharding != null && (t.Storage == null || !t.IsContiguous || t.Storage.ViewRoot != null || t.Storage.DeclaredBytes != t.NBytes));

        /// <summary>The format an output path asks for: .safetensors → safetensors, anything else → torch zip.</summary>
        public static WeightsFileFormat FormatFor(string outFile) =>
            outFile.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? WeightsFileFormat.Safetensors : WeightsFileFormat.TorchZip;

        internal static PyDict StateDict(IEnumerable<OutTensor> outs)
        {
            var sd = new PyDict { PythonType = new PyGlobal("collections", "OrderedDict") };
            foreach (var o in outs) sd.Set(o.Name, o.SameAs ?? o); // a tied name is the same pickled tensor (memo hit)
            return sd;
        }

        /// <summary>
        /// A Lightning checkpoint load_from_checkpoint accepts around <paramref name="stateDict"/>: epoch, step, version and
        /// the hyper-parameters as weights_only data (<see cref="SafeTypes"/>); their tensors are added to <paramref name="extra"/>.
        /// </summary>
        internal static PyDict LightningRoot(Checkpoint source, PyDict stateDict, Action<string>? warn, List<OutTensor> extra, ReaderPool pool)
        {
            var view = source.View;
            var root = new PyDict();
            if (view.Epoch is long e) root.Set("epoch", e);
            if (view.GlobalStep is long g) root.Set("global_step", g);
            if (view.LightningVersion != null) root.Set("pytorch-lightning_version", view.LightningVersion);
            root.Set("state_dict", stateDict);
            if (view.HyperParameters != null)
            {
                var dropped = new List<string>();
                var safe = new SafeTypes(v =>
                {
                    var t = v as TensorRef ?? ((CkptTensor)v).Tensor;
                    if (!t.HasData || !GraphPickler.IsDense(t)) { dropped.Add(t.ToString()); return null; }
                    var o = Written("hyper_parameters:" + extra.Count, source, t, pool);
                    extra.Add(o);
                    return o;
                });
                root.Set("hyper_parameters", safe.Convert(view.HyperParameters, "hyper_parameters"));
                if (view.HParamsName != null) root.Set("hparams_name", view.HParamsName);
                foreach (var line in safe.Describe()) warn?.Invoke("written as plain data so torch's weights_only loader accepts it: " + line);
                foreach (var d in dropped) warn?.Invoke($"a {d} among the hyper-parameters has no dense data (sparse, meta, quantized …) and was written as None");
            }
            return root;
        }

        /// <summary>A source tensor as written: its stored bytes shared, or its values (the reader resolves them) when it is a conj/neg view.</summary>
        internal static OutTensor Written(string name, Checkpoint source, TensorRef t, ReaderPool pool) => Data.ViewBits.Applies(t)
            ? OutTensor.FromProducer(name, t.DType, t.Shape, t.RequiresGrad, sink => pool.Get(source).ReadRowMajor(t, sink))
            : OutTensor.FromSource(name, source, t);

        /// <summary>Casts one chunk; returns how many finite elements became ±inf (the target's range was exceeded).</summary>
        private static unsafe long CastChunk(byte[] src, DType from, int count, DType to, byte[] dst)
        {
            fixed (byte* s = src) fixed (byte* d = dst)
            {
                ElementCast.Cast(s, from, count, to, d);
                if (!InfinityCount.Counts(from) || !InfinityCount.Counts(to) || to.ItemSize >= from.ItemSize) return 0;
                return InfinityCount.Overflowed(s, from, d, to, count);
            }
        }

        /// <summary>The tensor cast to <c>to</c> as it streams; <c>warn</c> is told once per tensor when finite values became ±inf.</summary>
        internal static OutTensor CastProducer(string name, Checkpoint source, TensorRef t, DType to, ReaderPool pool, Action<string>? warn = null) =>
            OutTensor.FromProducer(name, to, t.Shape, t.RequiresGrad, sink =>
            {
                var reader = pool.Get(source);
                int inSize = t.DType.ItemSize, outSize = to.ItemSize;
                long overflowed = 0;
                reader.ReadRowMajor(t, (b, n) =>
                {
                    int count = n / inSize;
                    var outBuf = pool.CastBuffer(count * outSize);
                    overflowed += CastChunk(b, t.DType, count, to, outBuf);
                    sink(outBuf, count * outSize);
                });
                if (overflowed > 0)
                    warn?.Invoke($"{name}: {overflowed} finite {t.DType.Name} value(s) are beyond {to.Name}'s range and were written as ±inf; compare the output with Compare-Ckpt to see them");
            });
    }

    /// <summary>
    /// One open <see cref="TensorDataReader"/> per checkpoint, sharing one progress, disposed together, and the
    /// scratch buffers of the one writer thread that uses the pool: a fresh multi-megabyte array per tensor is
    /// large-object garbage that only a full collection frees, and it showed as tens of MB of resident memory.
    /// </summary>
    internal sealed class ReaderPool : IDisposable
    {
        private readonly Dictionary<Checkpoint, TensorDataReader> _readers = new Dictionary<Checkpoint, TensorDataReader>();
        private byte[] _cast = Array.Empty<byte>(), _copy = Array.Empty<byte>();

        public ReaderPool(ReadProgress? progress = null) => Progress = progress ?? new ReadProgress();

        public ReadProgress Progress { get; }

        public TensorDataReader Get(Checkpoint c)
        {
            if (!_readers.TryGetValue(c, out var r)) _readers[c] = r = new TensorDataReader(Progress);
            return r;
        }

        /// <summary>The buffer cast elements are written to, at least <paramref name="bytes"/> long (reused).</summary>
        public byte[] CastBuffer(int bytes) => Grow(ref _cast, bytes);

        /// <summary>The buffer stored bytes are copied through, at least <paramref name="bytes"/> long (reused).</summary>
        public byte[] CopyBuffer(int bytes) => Grow(ref _copy, bytes);

        private static byte[] Grow(ref byte[] buffer, int bytes) => buffer.Length >= bytes ? buffer : buffer = new byte[bytes];

        public void Dispose()
        {
            foreach (var r in _readers.Values) r.Dispose();
            _readers.Clear();
        }
    }
}
