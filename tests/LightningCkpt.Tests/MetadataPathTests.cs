using System;
using System.IO;
using System.Linq;
using System.Text;
using LightningCkpt.Data;
using LightningCkpt.Pickle;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The metadata path's shortcuts keep their meaning: the paged memo behaves like Python's dict memo, and local
    /// zip headers read lazily still catch every damaged header — when data is first needed rather than at open.
    /// </summary>
    public class MetadataPathTests
    {
        private static object? Run(params byte[][] parts)
        {
            var data = parts.SelectMany(p => p).ToArray();
            return new PickleMachine(new PythonHost(), "test", "pickle").Load(data);
        }

        private static byte[] B(params int[] bytes) => bytes.Select(b => (byte)b).ToArray();
        private static byte[] U32(uint v) => BitConverter.GetBytes(v);
        private static byte[] Str(string s) => B(0x8c, s.Length).Concat(Encoding.UTF8.GetBytes(s)).ToArray(); // SHORT_BINUNICODE

        [Fact]
        public void MemoKeepsNoneAndHugeSparseIndicesApartFromNeverPut()
        {
            // [None put at 5, "x" put at 4_000_000_000, get 5, get 4e9]
            var value = Run(B(0x80, 4, 0x5d, 0x28), // PROTO 4, EMPTY_LIST, MARK
                B(0x4e, 0x72), U32(5),               // NONE, LONG_BINPUT 5
                Str("x"), B(0x72), U32(4_000_000_000), // LONG_BINPUT 4e9
                B(0x30, 0x30),                        // POP, POP
                B(0x6a), U32(5), B(0x6a), U32(4_000_000_000), // LONG_BINGET 5, LONG_BINGET 4e9
                B(0x65, 0x2e));                       // APPENDS, STOP
            var list = Assert.IsType<PyList>(value);
            Assert.Equal(new object?[] { null, "x" }, list.ToArray());

            var ex = Assert.Throws<CheckpointFormatException>(() => Run(B(0x80, 4, 0x4e, 0x72), U32(5), B(0x6a), U32(6), B(0x2e)));
            Assert.Contains("never PUT", ex.Reason);
        }

        [Fact]
        public void MemoizeNumbersByDistinctEntriesAcrossPages()
        {
            // 3000 strings memoized with MEMOIZE (indices 0..2999 span three memo pages), then GETs of a few
            var parts = new System.Collections.Generic.List<byte[]> { B(0x80, 4, 0x5d, 0x94, 0x28) }; // list is memo 0
            for (int i = 0; i < 3000; i++) { parts.Add(Str("s" + i)); parts.Add(B(0x94)); }
            parts.Add(B(0x65)); // APPENDS
            foreach (uint i in new uint[] { 1, 1024, 1025, 3000 }) { parts.Add(B(0x6a)); parts.Add(U32(i)); parts.Add(B(0x61)); } // LONG_BINGET, APPEND
            parts.Add(B(0x2e));
            var list = Assert.IsType<PyList>(Run(parts.ToArray()));
            Assert.Equal(3004, list.Count);
            Assert.Equal(new object?[] { "s0", "s1023", "s1024", "s2999" }, list.Skip(3000).ToArray());
        }

        [Fact]
        public void DamagedLocalHeaderOfATensorIsFoundWhenItsDataIsRead()
        {
            var pickle = Convert.FromBase64String(TwoFloatPickle);
            var zip = FuzzZip.Checkpoint(pickle, ("0", BitConverter.GetBytes(1.5f).Concat(BitConverter.GetBytes(-2f)).ToArray()));
            int header = FindLocalHeader(zip, "archive/data/0");
            zip[header] = (byte)'X'; // the central directory still points here
            var path = Path.Combine(Path.GetTempPath(), $"lightningckpt-lazyheader-{Environment.ProcessId}.pt");
            File.WriteAllBytes(path, zip);
            try
            {
                // metadata needs no local header of a tensor …
                var c = Checkpoint.Open(path);
                var t = Assert.Single(c.AllTensors).Tensor;
                Assert.Equal(new long[] { 2 }, t.Shape);
                // … nor does listing the tensors (Get-CkptTensor, Import-Ckpt); their file offset does
                var listed = Assert.Single(CkptTensor.List(c, all: true));
                Assert.False(c.Storages[0].Entry!.IsLocated);
                Assert.Contains("no local header", Assert.Throws<CheckpointFormatException>(() => listed.StorageFileOffset).Reason);
                Assert.IsType<CkptTensor>(CkptGraph.Load(path)); // Import-Ckpt of the file: the top object is the tensor
                // … but its data does, and the damage is named
                using var reader = new TensorDataReader(c);
                var ex = Assert.Throws<CheckpointFormatException>(() => reader.ToBytes(t));
                Assert.Contains("archive/data/0", ex.Part);
                Assert.Contains("no local header", ex.Reason);
                // Test-Ckpt still reports it
                var result = CheckpointValidator.Test(path);
                Assert.False(result.IsValid);
                Assert.Contains(result.Findings, f => f.Location != null && f.Location.Contains("archive/data/0"));
            }
            finally { File.Delete(path); }
        }

        [Fact]
        public void HealthyFileLocatesEntriesLazilyWithTheSameOffsets()
        {
            var pickle = Convert.FromBase64String(TwoFloatPickle);
            var zip = FuzzZip.Checkpoint(pickle, ("0", BitConverter.GetBytes(1.5f).Concat(BitConverter.GetBytes(-2f)).ToArray()));
            var path = Path.Combine(Path.GetTempPath(), $"lightningckpt-lazyok-{Environment.ProcessId}.pt");
            File.WriteAllBytes(path, zip);
            try
            {
                var c = Checkpoint.Open(path);
                var storage = Assert.Single(c.Storages);
                var listed = Assert.Single(CkptTensor.List(c, all: true));
                Assert.False(storage.Entry!.IsLocated);
                Assert.Equal(FindLocalHeader(zip, "archive/data/0") + 30 + "archive/data/0".Length, listed.StorageFileOffset);
                Assert.Equal(FindLocalHeader(zip, "archive/data/0") + 30 + "archive/data/0".Length, storage.FileOffset);
                Assert.True(storage.Entry.IsLocated);
                using var reader = new TensorDataReader(c);
                Assert.Equal(-2.0, ElementDecoder.ToDouble(reader.ToBytes(c.AllTensors[0].Tensor), 4, c.AllTensors[0].Tensor.DType));
            }
            finally { File.Delete(path); }
        }

        private static int FindLocalHeader(byte[] zip, string name)
        {
            var n = Encoding.ASCII.GetBytes(name);
            for (int i = 0; i + 30 + n.Length <= zip.Length; i++)
                if (zip[i] == 0x50 && zip[i + 1] == 0x4b && zip[i + 2] == 3 && zip[i + 3] == 4 && zip.Skip(i + 30).Take(n.Length).SequenceEqual(n)) return i;
            throw new InvalidOperationException(name + " not found");
        }

        // torch.save-style protocol-2 pickle of _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 2), 0, (2,), (1,), False, OrderedDict())
        private static readonly string TwoFloatPickle = MakeTwoFloatPickle();

        private static string MakeTwoFloatPickle()
        {
            var p = new System.Collections.Generic.List<byte[]>
            {
                B(0x80, 2),
                B('c'), Encoding.ASCII.GetBytes("torch._utils\n_rebuild_tensor_v2\n"),
                B(0x28), // MARK
                B(0x28), Str("storage"), B('c'), Encoding.ASCII.GetBytes("torch\nFloatStorage\n"), Str("0"), Str("cpu"), B(0x4b, 2, 0x74), // ... BININT1 2, TUPLE
                B(0x51), // BINPERSID
                B(0x4b, 0), B(0x4b, 2, 0x85), B(0x4b, 1, 0x85), B(0x89), // offset 0, (2,), (1,), False
                B('c'), Encoding.ASCII.GetBytes("collections\nOrderedDict\n"), B(0x29, 0x52), // OrderedDict()
                B(0x74, 0x52, 0x2e), // TUPLE, REDUCE, STOP
            };
            return Convert.ToBase64String(p.SelectMany(x => x).ToArray());
        }
    }
}
