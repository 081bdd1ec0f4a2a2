using System.Collections.Generic;
using LightningCkpt.Safety;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// Every global a pickle (or a file's pickles) referenced, distinct, in first-seen order, with how the pickle uses
    /// each: what Python would look it up as, and whether anything calls it (REDUCE, INST, OBJ, or an allow-listed
    /// function that calls one of its arguments, <see cref="ArgumentCalls"/>). Grading reads this; nothing here runs code.
    /// </summary>
    public sealed class GlobalsRecorder
    {
        private const int MaxNesting = 16;
        private readonly List<PyGlobal> _list = new List<PyGlobal>();
        private readonly Dictionary<PyGlobal, GlobalUse> _uses = new Dictionary<PyGlobal, GlobalUse>();
        private readonly List<AttributeLookup> _lookups = new List<AttributeLookup>();
        private readonly List<PyObject> _partials = new List<PyObject>();

        public IReadOnlyList<PyGlobal> All => _list;

        /// <summary>How the pickle uses <paramref name="g"/> (as the file spells it); null when it never named it.</summary>
        public GlobalUse? UseOf(PyGlobal g) => _uses.TryGetValue(g, out var u) ? u : null;

        /// <summary>Every call of builtins.getattr the pickle makes, with its arguments as data (for safety grading).</summary>
        public IReadOnlyList<AttributeLookup> AttributeLookups => _lookups;

        /// <summary>Every functools.partial object the pickle built (what each wraps is graded after BUILD gave it state).</summary>
        internal IReadOnlyList<PyObject> Partials => _partials;

        /// <summary>True when the pickle called a functools.partial object itself (REDUCE/NEWOBJ/OBJ on it, or through a function that calls its argument): that runs what it wraps.</summary>
        internal bool PartialInvoked { get; private set; }

        /// <summary>Names a global without a protocol (tests, synthetic pickles): looked up as protocol 4 would.</summary>
        public void Record(string module, string name) => Record(module, name, 4, null);

        /// <summary>
        /// Notes a GLOBAL/STACK_GLOBAL/INST at <paramref name="protocol"/>; <paramref name="value"/> is what the host made of
        /// it, so that a later call of that value is charged to this global.
        /// </summary>
        public void Record(string module, string name, int protocol, object? value)
        {
            var g = new PyGlobal(module, name);
            if (!_uses.TryGetValue(g, out var use))
            {
                use = new GlobalUse(g);
                _uses.Add(g, use);
                _list.Add(g);
            }
            use.AddTarget(FindClassPath.Of(module, name, protocol));
            if (value is PyGlobal made) made.Use = use;
        }

        /// <summary>
        /// Notes a call the pickle makes (REDUCE, INST, OBJ): the callable is called, and so is whatever an allow-listed
        /// function calls among its arguments; getattr lookups are kept with their arguments. Returns <paramref name="made"/>.
        /// </summary>
        internal object? NoteCall(object? callable, PyTuple args, object? made)
        {
            NotePartial(callable, made);
            if (IsGetattr(callable)) NoteLookup(args);
            if (callable is PyGlobal direct && args.Count == 1 && IsScalar(args[0])) (direct.Use ?? UseOf(direct))?.MarkCalled("called by REDUCE", memberLookup: true);
            else MarkCalled(callable, "called by REDUCE", 0);
            if (callable is PyGlobal g && g.Use != null)
            {
                var calls = g.Use.ArgumentCalls;
                for (int i = 0; i < calls.Length; i++)
                    if (calls[i].Index < args.Count) MarkArgument(args[calls[i].Index], calls[i].Role, calls[i].Function, calls[i].Index, 0);
            }
            return made;
        }

        /// <summary>
        /// Notes NEWOBJ/NEWOBJ_EX: cls.__new__(cls, *args) makes an instance without calling __init__, so a class this
        /// way is named, not called; a callable that is not a global (a getattr result, a partial) is still a call.
        /// </summary>
        internal object? NoteNewObject(object? cls, PyTuple args, object? made)
        {
            NotePartial(cls, made);
            if (cls is not PyGlobal) MarkCalled(cls, "instantiated by NEWOBJ", 0);
            return made;
        }

        private void NotePartial(object? callable, object? made)
        {
            if (IsPartial(callable) && made is PyObject p && ReferenceEquals(p.Callable, callable)) _partials.Add(p);
        }

        private void NoteLookup(PyTuple args)
        {
            if (_lookups.Count >= 10_000) { _lookups[_lookups.Count - 1] = new AttributeLookup(null, null); return; } // enough to grade; the last marks "more"
            _lookups.Add(new AttributeLookup(args.Count == 2 ? args[0] as PyGlobal : null, args.Count == 2 ? args[1] as string : null));
        }

        // The reasons are built only where something can be charged: every tensor passes an empty backward-hooks dict.
        private void MarkArgument(object? arg, ArgumentRole role, string function, int index, int depth)
        {
            switch (role)
            {
                case ArgumentRole.Called:
                    if (arg is PyGlobal or PyObject) MarkCalled(arg, $"{function} calls its argument {index + 1}", depth);
                    break;
                case ArgumentRole.EachValueCalled:
                    if (arg is PyDict hooks)
                    {
                        if (hooks.Count == 0) break;
                        foreach (var kv in hooks) MarkCalled(kv.Value, $"{function} installs it as a hook (argument {index + 1})", depth);
                        MarkCalled(arg, $"{function} calls its argument {index + 1}", depth + 1);
                    }
                    else if (arg is PyObject) MarkCalled(arg, $"{function} installs it as hooks (argument {index + 1})", depth);
                    break;
                case ArgumentRole.Iterated:
                    // iterating an instance runs its class's __iter__/keys(); iterating a global runs its metaclass's
                    if (arg is PyObject o && o.Callable is PyGlobal) MarkCalled(o.Callable, $"{function} iterates an instance of it (argument {index + 1})", depth);
                    else if (arg is PyGlobal) MarkCalled(arg, $"{function} iterates it (argument {index + 1})", depth);
                    break;
            }
        }

        /// <summary>Charges a call of <paramref name="value"/> to the global it comes from.</summary>
        private void MarkCalled(object? value, string how, int depth)
        {
            if (depth > MaxNesting) return;
            switch (value)
            {
                case PyGlobal g:
                    (g.Use ?? UseOf(g))?.MarkCalled(how);
                    break;
                case PyObject o:
                    // calling what getattr returned (getattr(x, 'system')(cmd)) is never a plain attribute read
                    if (IsGetattr(o.Callable)) _lookups.Add(new AttributeLookup(null, null));
                    else if (IsPartial(o.Callable)) PartialInvoked = true;
                    else MarkCalled(o.Callable, $"an object it built is called ({how})", depth + 1);
                    break;
            }
        }

        /// <summary>One recorder for a checkpoint made of several pickles (sharded folders): uses merged by global.</summary>
        public static GlobalsRecorder Merge(IEnumerable<GlobalsRecorder> parts)
        {
            var all = new GlobalsRecorder();
            foreach (var p in parts)
            {
                foreach (var g in p._list)
                {
                    if (!all._uses.TryGetValue(g, out var use))
                    {
                        use = new GlobalUse(g);
                        all._uses.Add(g, use);
                        all._list.Add(g);
                    }
                    use.MergeFrom(p._uses[g]);
                }
                all._lookups.AddRange(p._lookups);
                all._partials.AddRange(p._partials);
                all.PartialInvoked |= p.PartialInvoked;
            }
            return all;
        }

        private static bool IsScalar(object? v) => v is null || v is string || v is long || v is bool || v is double || v is System.Numerics.BigInteger;

        private static bool IsGetattr(object? callable) => callable is PyGlobal g && g.Name == "getattr" && (g.Module == "builtins" || g.Module == "__builtin__");

        internal static bool IsPartial(object? callable) => callable is PyGlobal g && g.Is("functools", "partial");
    }
}
