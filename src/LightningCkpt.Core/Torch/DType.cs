using System;
using System.Collections.Generic;

namespace LightningCkpt.Torch
{
    /// <summary>How the bytes of an element are to be read.</summary>
    public enum DTypeKind
    {
        Bool, UnsignedInt, SignedInt, Float, BFloat, Float8, Complex, Quantized, Bits, Opaque,
    }

    /// <summary>
    /// A torch scalar type (c10::ScalarType): its torch name, element size, legacy storage class and kind.
    /// The table is the single source of truth for every dtype the reader, data engine and writers know.
    /// </summary>
    public sealed class DType
    {
        private DType(int id, string name, int itemSize, DTypeKind kind, string? storageName, string? safetensorsName, int bitsPerElement = 0)
        {
            ScalarTypeId = id;
            Name = name;
            ItemSize = itemSize;
            Kind = kind;
            StorageName = storageName;
            SafetensorsName = safetensorsName;
            BitsPerElement = bitsPerElement == 0 ? itemSize * 8 : bitsPerElement;
        }

        /// <summary>c10::ScalarType id (the order torch relies on in serialization).</summary>
        public int ScalarTypeId { get; }

        /// <summary>torch's name without the "torch." prefix: float32, bfloat16, qint8 …</summary>
        public string Name { get; }

        /// <summary>Bytes per element as torch counts them (_element_size).</summary>
        public int ItemSize { get; }

        /// <summary>Bits one logical element really takes (4 for quint4x2, 2 for quint2x4).</summary>
        public int BitsPerElement { get; }

        public DTypeKind Kind { get; }

        /// <summary>Legacy typed-storage class (FloatStorage …), or null for dtypes saved as UntypedStorage.</summary>
        public string? StorageName { get; }

        /// <summary>The safetensors dtype tag, or null when safetensors has none.</summary>
        public string? SafetensorsName { get; }

        public bool IsFloatingPoint => Kind == DTypeKind.Float || Kind == DTypeKind.BFloat || Kind == DTypeKind.Float8;
        public bool IsComplex => Kind == DTypeKind.Complex;

        public override string ToString() => Name;

        public static readonly DType UInt8 = new DType(0, "uint8", 1, DTypeKind.UnsignedInt, "ByteStorage", "U8");
        public static readonly DType Int8 = new DType(1, "int8", 1, DTypeKind.SignedInt, "CharStorage", "I8");
        public static readonly DType Int16 = new DType(2, "int16", 2, DTypeKind.SignedInt, "ShortStorage", "I16");
        public static readonly DType Int32 = new DType(3, "int32", 4, DTypeKind.SignedInt, "IntStorage", "I32");
        public static readonly DType Int64 = new DType(4, "int64", 8, DTypeKind.SignedInt, "LongStorage", "I64");
        public static readonly DType Float16 = new DType(5, "float16", 2, DTypeKind.Float, "HalfStorage", "F16");
        public static readonly DType Float32 = new DType(6, "float32", 4, DTypeKind.Float, "FloatStorage", "F32");
        public static readonly DType Float64 = new DType(7, "float64", 8, DTypeKind.Float, "DoubleStorage", "F64");
        public static readonly DType Complex32 = new DType(8, "complex32", 4, DTypeKind.Complex, null, null);
        public static readonly DType Complex64 = new DType(9, "complex64", 8, DTypeKind.Complex, "ComplexFloatStorage", "C64");
        public static readonly DType Complex128 = new DType(10, "complex128", 16, DTypeKind.Complex, "ComplexDoubleStorage", null);
        public static readonly DType Bool = new DType(11, "bool", 1, DTypeKind.Bool, "BoolStorage", "BOOL");
        public static readonly DType QInt8 = new DType(12, "qint8", 1, DTypeKind.Quantized, "QInt8Storage", null);
        public static readonly DType QUInt8 = new DType(13, "quint8", 1, DTypeKind.Quantized, "QUInt8Storage", null);
        public static readonly DType QInt32 = new DType(14, "qint32", 4, DTypeKind.Quantized, "QInt32Storage", null);
        public static readonly DType BFloat16 = new DType(15, "bfloat16", 2, DTypeKind.BFloat, "BFloat16Storage", "BF16");
        public static readonly DType QUInt4x2 = new DType(16, "quint4x2", 1, DTypeKind.Quantized, "QUInt4x2Storage", null, 4);
        public static readonly DType QUInt2x4 = new DType(17, "quint2x4", 1, DTypeKind.Quantized, "QUInt2x4Storage", null, 2);
        public static readonly DType Bits1x8 = new DType(18, "bits1x8", 1, DTypeKind.Bits, null, null);
        public static readonly DType Bits2x4 = new DType(19, "bits2x4", 1, DTypeKind.Bits, null, null);
        public static readonly DType Bits4x2 = new DType(20, "bits4x2", 1, DTypeKind.Bits, null, null);
        public static readonly DType Bits8 = new DType(21, "bits8", 1, DTypeKind.Bits, null, null);
        public static readonly DType Bits16 = new DType(22, "bits16", 2, DTypeKind.Bits, null, null);
        public static readonly DType Float8E5M2 = new DType(23, "float8_e5m2", 1, DTypeKind.Float8, null, "F8_E5M2");
        public static readonly DType Float8E4M3Fn = new DType(24, "float8_e4m3fn", 1, DTypeKind.Float8, null, "F8_E4M3");
        public static readonly DType Float8E5M2Fnuz = new DType(25, "float8_e5m2fnuz", 1, DTypeKind.Float8, null, "F8_E5M2FNUZ");
        public static readonly DType Float8E4M3Fnuz = new DType(26, "float8_e4m3fnuz", 1, DTypeKind.Float8, null, "F8_E4M3FNUZ");
        public static readonly DType UInt16 = new DType(27, "uint16", 2, DTypeKind.UnsignedInt, null, "U16");
        public static readonly DType UInt32 = new DType(28, "uint32", 4, DTypeKind.UnsignedInt, null, "U32");
        public static readonly DType UInt64 = new DType(29, "uint64", 8, DTypeKind.UnsignedInt, null, "U64");
        public static readonly DType Float8E8M0Fnu = new DType(44, "float8_e8m0fnu", 1, DTypeKind.Float8, null, "F8_E8M0");
        public static readonly DType Float4E2M1FnX2 = new DType(45, "float4_e2m1fn_x2", 1, DTypeKind.Opaque, null, null);

        /// <summary>Two bfloat16 (real, imaginary); torch 2.x has it, but no torch.abs for it, so it has no statistics.</summary>
        public static readonly DType BComplex32 = new DType(46, "bcomplex32", 4, DTypeKind.Complex, null, null);

        /// <summary>
        /// A torch dtype this table does not know (a newer torch's): its name only. A tensor of it is listed with its
        /// geometry but no data (<see cref="TensorRef.UnsupportedReason"/>), so one such tensor never costs the file.
        /// </summary>
        internal static DType Unknown(string name) => new DType(-1, name, 0, DTypeKind.Opaque, null, null);

        /// <summary>True for a dtype made by <see cref="Unknown"/>.</summary>
        public bool IsUnknown => ScalarTypeId < 0;

        private static readonly DType[] All =
        {
            UInt8, Int8, Int16, Int32, Int64, Float16, Float32, Float64, Complex32, Complex64, Complex128, Bool,
            QInt8, QUInt8, QInt32, BFloat16, QUInt4x2, QUInt2x4, Bits1x8, Bits2x4, Bits4x2, Bits8, Bits16,
            Float8E5M2, Float8E4M3Fn, Float8E5M2Fnuz, Float8E4M3Fnuz, UInt16, UInt32, UInt64, Float8E8M0Fnu, Float4E2M1FnX2, BComplex32,
        };

        private static readonly Dictionary<string, DType> ByName = BuildByName();
        private static readonly Dictionary<string, DType> ByStorage = BuildByStorage();

        /// <summary>Every dtype in the table.</summary>
        public static IReadOnlyList<DType> Known => All;

        private static Dictionary<string, DType> BuildByName()
        {
            var d = new Dictionary<string, DType>(StringComparer.Ordinal);
            foreach (var t in All) d[t.Name] = t;
            // torch's aliases (torch.float is float32, torch.half is float16, …)
            d["float"] = Float32; d["double"] = Float64; d["half"] = Float16; d["long"] = Int64; d["int"] = Int32;
            d["short"] = Int16; d["cfloat"] = Complex64; d["cdouble"] = Complex128; d["chalf"] = Complex32;
            for (int i = 1; i <= 7; i++)
            {
                d["uint" + i] = new DType(29 + i, "uint" + i, 1, DTypeKind.Opaque, null, null);
                d["int" + i] = new DType(36 + i, "int" + i, 1, DTypeKind.Opaque, null, null);
            }
            return d;
        }

        private static Dictionary<string, DType> BuildByStorage()
        {
            var d = new Dictionary<string, DType>(StringComparer.Ordinal);
            foreach (var t in All) if (t.StorageName != null) d[t.StorageName] = t;
            return d;
        }

        /// <summary>A dtype by torch name ("float32", "bfloat16", alias "half" …), or null.</summary>
        public static DType? FromName(string name)
        {
            if (name.StartsWith("torch.", StringComparison.Ordinal)) name = name.Substring(6);
            return ByName.TryGetValue(name, out var t) ? t : null;
        }

        /// <summary>A dtype by legacy storage class name ("FloatStorage" …), or null.</summary>
        public static DType? FromStorageName(string storageName) => ByStorage.TryGetValue(storageName, out var t) ? t : null;

        /// <summary>A dtype by safetensors tag ("F32" …), or null.</summary>
        public static DType? FromSafetensorsName(string tag)
        {
            foreach (var t in All) if (t.SafetensorsName == tag) return t;
            return null;
        }

        /// <summary>Bytes needed to hold <paramref name="elements"/> elements (sub-byte types pack several per byte).</summary>
        public long BytesFor(long elements) => BitsPerElement >= 8 ? checked(elements * ItemSize) : (checked(elements * BitsPerElement) + 7) / 8;
    }
}
