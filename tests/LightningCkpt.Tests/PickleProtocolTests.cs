using System;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Pickle;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Python's own pickler writes plain values at every protocol 0–5; the machine must rebuild each so that it
    /// renders exactly as Python's repr() does.
    /// </summary>
    public class PickleProtocolTests
    {
        private const string Script = @"
import pickle, base64, json, sys
values = [0, 1, -1, 255, 256, 65535, 65536, 2**31-1, -2**31, 2**63-1, -2**63, 2**64, 2**100, -2**70, 0.5, -2.25, 3.0,
          'abc', '', 'ключ 名前 🔥', 'line\nbreak', b'', b'\x00\x01abc', None, True, False, [1, [2, [3]]], (), (1,), (1, 2),
          (1, 2, 3), (1, 2, 3, 4), {'a': 1, 'b': [1, 2]}, {1: 'x', (1, 2): 'y', None: 0}, {3, 1, 2}, frozenset({5}),
          [[]] * 3, {'k': (1.5, [None, True])}]
shared = [1, 2]
values.append([shared, shared, {'s': shared}])
out = []
for proto in range(0, 6):
    for v in values:
        out.append({'protocol': proto, 'data': base64.b64encode(pickle.dumps(v, protocol=proto)).decode(), 'repr': repr(v)})
json.dump(out, sys.stdout)
";

        [SkippableFact]
        public void RebuildsEveryValuePythonPicklesAtEveryProtocol()
        {
            Skip.IfNot(PythonOracle.HasPython, "no /usr/bin/python3");
            Assert.Equal(0, PythonOracle.Run("-", out var json, Script));
            using var doc = JsonDocument.Parse(json);
            int checkedCases = 0;
            foreach (var c in doc.RootElement.EnumerateArray())
            {
                var data = Convert.FromBase64String(c.GetProperty("data").GetString()!);
                var machine = new PickleMachine(new PythonHost(), "test", "pickle");
                var value = machine.Load(data);
                var expected = c.GetProperty("repr").GetString()!.Replace("\\n", "\\n");
                Assert.True(expected == PyRepr.Render(value), $"protocol {c.GetProperty("protocol").GetInt32()}: expected {expected}, got {PyRepr.Render(value)}");
                checkedCases++;
            }
            Assert.True(checkedCases >= 6 * 30);
        }

        [Fact]
        public void SelfReferencingListsRenderWithoutRecursingForever()
        {
            // ( ] q\x00 h\x00 a .  — an empty list appended to itself through the memo
            var data = new byte[] { 0x80, 0x02, (byte)']', (byte)'q', 0, (byte)'h', 0, (byte)'a', (byte)'.' };
            var value = new PickleMachine(new PythonHost(), "test", "pickle").Load(data);
            var list = Assert.IsType<PyList>(value);
            Assert.Same(list, list[0]);
            Assert.Equal("[...]", PyRepr.Render(list));
            Assert.Empty(Lightning.ObjectWalker.FindTensors(list));
        }

        [Theory]
        [InlineData(new byte[] { 0x80, 0x02, (byte)'a', (byte)'.' }, "stack underflow")]
        [InlineData(new byte[] { 0x80, 0x02, (byte)'h', 7, (byte)'.' }, "never PUT")]
        [InlineData(new byte[] { 0x80, 0x02, (byte)'K', 1, (byte)'K', 2, (byte)'a', (byte)'.' }, "not a list")]
        [InlineData(new byte[] { 0x80, 0x02, (byte)'K', 1, (byte)'K', 2, (byte)'K', 3, (byte)'s', (byte)'.' }, "not a dict")]
        [InlineData(new byte[] { 0x80, 0x02, (byte)'X', 0xff, 0xff, 0xff, 0x7f, (byte)'.' }, "runs past the end")]
        [InlineData(new byte[] { 0x80, 0x02, (byte)'N' }, "without a STOP")]
        [InlineData(new byte[] { 0x80, 0x09, (byte)'N', (byte)'.' }, "unsupported pickle protocol")]
        [InlineData(new byte[] { 0x80, 0x02, 0xff, (byte)'.' }, "unknown opcode")]
        public void MalformedPicklesFailWithTheOneExceptionNamingOpcodeAndOffset(byte[] data, string reason)
        {
            var ex = Assert.Throws<CheckpointFormatException>(() => new PickleMachine(new PythonHost(), "f.ckpt", "entry 'archive/data.pkl'").Load(data));
            Assert.Contains(reason, ex.Message);
            Assert.Contains("f.ckpt", ex.Message);
            Assert.Contains("archive/data.pkl", ex.Message);
            Assert.True(ex.Offset >= 0);
        }
    }
}
