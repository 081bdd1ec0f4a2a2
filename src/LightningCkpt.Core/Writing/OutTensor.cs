using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// A tensor to be written: either a view of a source checkpoint's storage (written as is, sharing kept in a torch
    /// zip) or a fresh contiguous tensor whose row-major little-endian bytes a producer emits (casts, averages).
    /// </summary>
    internal sealed class OutTensor
    {
        private OutTensor(string name, DType dtype, long[] shape, bool requiresGrad)
        {
            Name = name;
            DType = dtype;
            Shape = shape;
            RequiresGrad = requiresGrad;
            Numel = TensorRef.ComputeNumel(shape);
        }

        public string Name { get; }
        public DType DType { get; }
        public long[] Shape { get; }
        public long Numel { get; }
        public bool RequiresGrad { get; }
        public long NBytes => DType.BytesFor(Numel);

        /// <summary>The source view, when the bytes are copied unchanged.</summary>
        public Checkpoint? Source { get; private set; }
        public TensorRef? SourceTensor { get; private set; }

        /// <summary>Emits exactly <see cref="NBytes"/> row-major little-endian bytes, in chunks.</summary>
        public Action<Action<byte[], int>>? Producer { get; private set; }

        /// <summary>
        /// The tensor this name is tied to (written earlier under its own name): a torch file pickles that one tensor
        /// under both names, so the bytes are stored once; safetensors writes this name's own copy from the same
        /// producer or source.
        /// </summary>
        public OutTensor? SameAs { get; private set; }

        // assigned by the torch zip writer
        internal ZipStorage? Storage;
        internal long StorageOffset;
        internal long[] Stride = Array.Empty<long>();

        public static OutTensor FromSource(string name, Checkpoint source, TensorRef t) =>
            new OutTensor(name, t.DType, t.Shape, t.RequiresGrad) { Source = source, SourceTensor = t };

        public static OutTensor FromProducer(string name, DType dtype, long[] shape, bool requiresGrad, Action<Action<byte[], int>> producer) =>
            new OutTensor(name, dtype, shape, requiresGrad) { Producer = producer };

        /// <summary><paramref name="name"/> for the same tensor as <paramref name="first"/>.</summary>
        public static OutTensor TiedTo(string name, OutTensor first) =>
            new OutTensor(name, first.DType, first.Shape, first.RequiresGrad) { Source = first.Source, SourceTensor = first.SourceTensor, Producer = first.Producer, SameAs = first };

        public static long[] ContiguousStride(long[] shape)
        {
            var s = new long[shape.Length];
            long acc = 1;
            for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(1, shape[i]); }
            return s;
        }
    }

    /// <summary>One storage record of a torch zip being written.</summary>
    internal sealed class ZipStorage
    {
        public string Key = "";
        /// <summary>Typed storage dtype (torch.XStorage + _rebuild_tensor_v2), or null for UntypedStorage + _rebuild_tensor_v3.</summary>
        public DType? TypedAs;
        public long Bytes;
        /// <summary>Source storage copied whole (views keep sharing it), or null when <see cref="Fresh"/> produces the bytes.</summary>
        public Checkpoint? Source;
        public StorageRef? SourceStorage;
        /// <summary>Width used to turn big-endian source elements little-endian.</summary>
        public int SwapWidth = 1;
        public OutTensor? Fresh;
        /// <summary>A sharded checkpoint's tensor (chunks, or a slice of a flat partition) of <see cref="Source"/>, written row-major into a storage of its own.</summary>
        public TensorRef? Assembled;
        public long Numel => TypedAs != null ? Bytes / TypedAs.ItemSize : Bytes;
    }
}
