namespace LightningCkpt.Pickle
{
    /// <summary>
    /// One getattr(target, name) call in a pickle, kept as data. Python 3.11+ pickles enum members this way
    /// (DCP's MEM_FORMAT_ENCODING, DeepSpeed's ZeroStageEnum); a getattr whose arguments are not a global and a
    /// constant string has neither (<see cref="Target"/> or <see cref="Attribute"/> null).
    /// </summary>
    public sealed class AttributeLookup
    {
        public AttributeLookup(PyGlobal? target, string? attribute)
        {
            Target = target;
            Attribute = attribute;
        }

        /// <summary>The global whose attribute is read, when the first argument is one.</summary>
        public PyGlobal? Target { get; }

        /// <summary>The attribute name, when the second argument is a constant string.</summary>
        public string? Attribute { get; }

        public override string ToString() => $"getattr({Target?.FullName ?? "?"}, {(Attribute == null ? "?" : "'" + Attribute + "'")})";
    }
}
