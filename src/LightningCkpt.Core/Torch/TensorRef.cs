using System;
using System.Collections.Generic;
using LightningCkpt.Pickle;

namespace LightningCkpt.Torch
{
    /// <summary>
    /// A tensor as the pickle describes it: dtype, shape, stride and offset into a <see cref="StorageRef"/>.
    /// Its geometry is validated against the storage when it is rebuilt, so any later read stays in bounds.
    /// </summary>
    public sealed class TensorRef
    {
        internal TensorRef(DType dtype, long[] shape, long[] stride, long storageOffset, StorageRef? storage)
        {
            DType = dtype;
            Shape = shape;
            Stride = stride;
            StorageOffset = storageOffset;
            Storage = storage;
            Numel = ComputeNumel(shape);
        }

        public DType DType { get; }
        public long[] Shape { get; private set; }
        public long[] Stride { get; private set; }

        /// <summary>Offset of the first element in the storage, in elements.</summary>
        public long StorageOffset { get; }

        /// <summary>The storage holding the bytes; null for meta, wrapper-subclass, sparse and nested tensors.</summary>
        public StorageRef? Storage { get; }

        /// <summary>Elements; for a nested tensor, those of its buffer (values), as torch's numel().</summary>
        public long Numel { get; private set; }

        public bool RequiresGrad { get; internal set; }

        /// <summary>True for nn.Parameter.</summary>
        public bool IsParameter { get; internal set; }

        /// <summary>strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr, sparse_bsc, nested …</summary>
        public string Layout { get; internal set; } = "strided";

        /// <summary>cpu, cuda:0, meta …</summary>
        public string Device { get; internal set; } = "cpu";

        public QuantizerInfo? Quantizer { get; internal set; }

        /// <summary>The tensor subclass when rebuilt through _rebuild_from_type_v2 with a type other than torch.Tensor.</summary>
        public PyGlobal? SubclassType { get; internal set; }

        /// <summary>Python attributes the tensor carried (Parameter/subclass state).</summary>
        public object? PythonState { get; internal set; }

        /// <summary>Component tensors of sparse or nested tensors (indices, values …).</summary>
        public IReadOnlyList<TensorRef> Components { get; internal set; } = Array.Empty<TensorRef>();

        /// <summary>conj/neg bits and other metadata torch saved with the tensor.</summary>
        public object? Metadata { get; internal set; }

        /// <summary>
        /// A conjugate view (torch's conj bit, saved as {'conj': True}): the storage holds the unconjugated values,
        /// torch's values negate the imaginary parts. The data engine's element reads (hash, statistics, values,
        /// comparison, cast) return the resolved values, as t.resolve_conj() gives; storage copies stay raw.
        /// </summary>
        public bool IsConj { get; internal set; }

        /// <summary>A negative view (torch's neg bit, {'neg': True}): torch's values are the storage's negated.</summary>
        public bool IsNeg { get; internal set; }

        /// <summary>Why this tensor cannot be read although the file is fine (a dtype this version does not know), or null.</summary>
        public string? UnsupportedReason { get; internal set; }

        /// <summary>The true reason the elements cannot be read, for error messages.</summary>
        internal string NoDataReason => UnsupportedReason ?? $"has no data in the file (layout {Layout}, device {Device})";

        /// <summary>Bytes the elements take when made contiguous.</summary>
        public long NBytes => DType.BytesFor(Numel);

        /// <summary>True when the elements lie in row-major order without gaps.</summary>
        public bool IsContiguous
        {
            get
            {
                long expected = 1;
                for (int i = Shape.Length - 1; i >= 0; i--)
                {
                    if (Shape[i] == 1) continue;
                    if (Stride[i] != expected) return Numel == 0;
                    expected *= Shape[i];
                }
                return true;
            }
        }

        /// <summary>Whether the tensor's bytes can be read (a dense tensor with located storage, or assembled from chunks).</summary>
        public bool HasData => (Storage != null || Chunks != null) && Layout == "strided";

        /// <summary>
        /// For a logical tensor of a sharded checkpoint: the pieces it is made of, in other tensors' storages (often in
        /// several files). Such a tensor has no <see cref="Storage"/> of its own and is contiguous.
        /// </summary>
        public ChunkLayout? Chunks { get; private set; }

        /// <summary>True for a tensor assembled from chunks.</summary>
        public bool IsChunked => Chunks != null;

        /// <summary>A contiguous logical tensor of <paramref name="shape"/> whose elements are the chunks' pieces.</summary>
        internal static TensorRef Assembled(DType dtype, long[] shape, ChunkLayout layout)
        {
            var t = new TensorRef(dtype, shape, TorchHost.ContiguousStride(shape), 0, null) { Chunks = layout };
            t.SpanEndElement = t.Numel;
            return t;
        }

        /// <summary>
        /// A nested tensor (layout "nested": strided NestedTensor; "jagged": torch.jagged NJT) over its component
        /// tensors. <paramref name="shape"/> holds -1 for a dimension that is not one number (torch's ragged j1 of a
        /// jagged tensor; any dimension of a strided nested tensor, whose sizes are data in its size tensor).
        /// </summary>
        internal static TensorRef Nested(string layout, DType dtype, long[] shape, long numel, IReadOnlyList<TensorRef> parts)
            => new TensorRef(dtype, Array.Empty<long>(), Array.Empty<long>(), 0, null)
            {
                Layout = layout, Components = parts, Shape = shape, Stride = new long[shape.Length], Numel = numel,
            };

        /// <summary>Element index (in the storage) one past the furthest element the view touches; 0 when empty.</summary>
        public long SpanEndElement { get; private set; }

        internal static long ComputeNumel(long[] shape)
        {
            long n = 1;
            foreach (var s in shape) n = checked(n * s);
            return n;
        }

        /// <summary>Checks the view stays inside its storage; throws <see cref="PickleDataException"/> otherwise.</summary>
        internal void Validate()
        {
            if (Shape.Length != Stride.Length)
                throw new PickleDataException($"tensor has {Shape.Length} sizes but {Stride.Length} strides");
            if (Shape.Length > Limits.MaxTensorDims)
                throw new PickleDataException($"tensor has {Shape.Length} dimensions (limit {Limits.MaxTensorDims})", CheckpointErrorKind.LimitExceeded);
            if (StorageOffset < 0) throw new PickleDataException($"negative storage offset {StorageOffset}");
            for (int i = 0; i < Shape.Length; i++)
            {
                if (Shape[i] < 0) throw new PickleDataException($"negative size {Shape[i]} in dimension {i}");
                if (Stride[i] < 0) throw new PickleDataException($"negative stride {Stride[i]} in dimension {i}");
            }
            try
            {
                long end = 0;
                if (Numel > 0)
                {
                    long last = StorageOffset;
                    for (int i = 0; i < Shape.Length; i++) last = checked(last + checked((Shape[i] - 1) * Stride[i]));
                    end = checked(last + 1);
                }
                SpanEndElement = end;
                _ = NBytes; // an expanded view's logical size can overflow even when its span does not
                if (Storage != null)
                {
                    long need = DType.BytesFor(end);
                    if (need > Storage.DeclaredBytes)
                        throw new PickleDataException(
                            $"tensor view (offset {StorageOffset}, size [{string.Join(", ", Shape)}], stride [{string.Join(", ", Stride)}]) needs {need} bytes but storage '{Storage.Key}' declares {Storage.DeclaredBytes}", CheckpointDefect.ViewOutOfBounds);
                }
            }
            catch (OverflowException)
            {
                throw new PickleDataException($"tensor size [{string.Join(", ", Shape)}] with stride [{string.Join(", ", Stride)}] overflows: its {DType.Name} elements or their byte size do not fit in 64 bits", CheckpointErrorKind.LimitExceeded);
            }
        }

        /// <summary>
        /// Element index one past the furthest element the view touches, from its geometry (views the engine makes
        /// itself are never validated, so <see cref="SpanEndElement"/> may not be set for them).
        /// </summary>
        internal long ComputeSpanEnd()
        {
            if (Numel == 0) return 0;
            long last = StorageOffset;
            for (int i = 0; i < Shape.Length; i++) last = checked(last + checked((Shape[i] - 1) * Stride[i]));
            return checked(last + 1);
        }

        /// <summary>The same storage, dtype and quantizer seen through another geometry.</summary>
        internal TensorRef WithGeometry(long[] shape, long[] stride, long storageOffset)
        {
            var v = new TensorRef(DType, shape, stride, storageOffset, Storage) { Quantizer = Quantizer, Layout = Layout, Device = Device, IsConj = IsConj, IsNeg = IsNeg };
            v.SpanEndElement = v.ComputeSpanEnd();
            return v;
        }

        /// <summary>A copy of this tensor marked as a Parameter.</summary>
        internal TensorRef AsParameter(bool requiresGrad)
        {
            var p = (TensorRef)MemberwiseClone();
            p.IsParameter = true;
            p.RequiresGrad = requiresGrad;
            return p;
        }

        public override string ToString() => $"tensor({DType.Name}, [{string.Join(", ", Shape)}])";
    }
}
