using System;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// A reference to a Python global (a class or a function) by module and name. It is never resolved to
    /// code: it is just a name, used as a callable in inert objects, as a dict key, or as a value.
    /// </summary>
    public sealed class PyGlobal : IEquatable<PyGlobal>
    {
        public PyGlobal(string module, string name)
        {
            Module = module;
            Name = name;
        }

        public string Module { get; }
        public string Name { get; }

        /// <summary>The module as the file spelled it when that differs from <see cref="Module"/> (Python 2's __builtin__ …), so a writer can keep it.</summary>
        public string? PickledModule { get; set; }

        /// <summary>The use this value was made for by a GLOBAL opcode (so a call of it is charged there); null otherwise.</summary>
        internal GlobalUse? Use { get; set; }

        /// <summary>"module.name", the spelling torch's allow-list and our grading use.</summary>
        public string FullName => Module.Length == 0 ? Name : Module + "." + Name;

        public bool Is(string module, string name) =>
            string.Equals(Module, module, StringComparison.Ordinal) && string.Equals(Name, name, StringComparison.Ordinal);

        public bool Equals(PyGlobal? other) => other is not null && Is(other.Module, other.Name);
        public override bool Equals(object? obj) => Equals(obj as PyGlobal);
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Module) * 31 + StringComparer.Ordinal.GetHashCode(Name);
        public override string ToString() => FullName;
    }
}
