using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// How the pickle built a value the hosts turned into something else (a numpy array or scalar, a torch.Size, a
    /// quantized tensor …): the callable, its arguments, whether it came through NEWOBJ, and the states BUILD gave it.
    /// The graph writer re-emits exactly this, so such values round-trip without the writer knowing their classes.
    /// </summary>
    public sealed class Construction
    {
        internal Construction(object? callable, PyTuple args, PyDict? kwargs, bool viaNewObject)
        {
            Callable = callable;
            Args = args;
            Kwargs = kwargs;
            ViaNewObject = viaNewObject;
        }

        public object? Callable { get; }
        public PyTuple Args { get; }
        public PyDict? Kwargs { get; }

        /// <summary>True for cls.__new__(cls, *args) (NEWOBJ), false for callable(*args) (REDUCE).</summary>
        public bool ViaNewObject { get; }

        /// <summary>The BUILD states applied afterwards, in order.</summary>
        public IReadOnlyList<object?> States => _states;

        private readonly List<object?> _states = new List<object?>();

        internal void AddState(object? state) => _states.Add(state);

        // Keyed by reference (boxed numpy scalars included) and weak, so records live exactly as long as their values.
        private static readonly ConditionalWeakTable<object, Construction> Table = new ConditionalWeakTable<object, Construction>();

        [ThreadStatic] private static int _recording;

        /// <summary>The recorded construction of <paramref name="value"/>, or null.</summary>
        public static Construction? Of(object? value) => value != null && Table.TryGetValue(value, out var c) ? c : null;

        /// <summary>While the returned scope lives, pickle machines made on this thread record constructions.</summary>
        public static IDisposable Record() => new Scope();

        internal static bool IsRecording => _recording > 0;

        /// <summary>Protocol 5's BYTEARRAY8 makes a bytearray, not bytes: recorded as Python 2's bytearray(bytes) so it stays one.</summary>
        internal static byte[] MarkByteArray(byte[] data)
        {
            if (IsRecording)
                Remember(data, new Construction(new PyGlobal("builtins", "bytearray"), new PyTuple(new object?[] { (byte[])data.Clone() }), null, false));
            return data;
        }

        internal static void Remember(object value, Construction c)
        {
            Table.Remove(value);
            Table.Add(value, c);
        }

        private sealed class Scope : IDisposable
        {
            private bool _done;
            public Scope() => _recording++;
            public void Dispose()
            {
                if (_done) return;
                _done = true;
                _recording--;
            }
        }
    }
}
