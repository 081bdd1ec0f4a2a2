using System;
using System.Collections.Generic;

namespace LightningCkpt.Safety
{
    /// <summary>What a function does with one of its arguments that runs that argument's code.</summary>
    public enum ArgumentRole
    {
        /// <summary>Calls it (func(*args), cls(...), a default factory).</summary>
        Called,
        /// <summary>A dict of hooks: every value is called later (backward hooks on a tensor or parameter).</summary>
        EachValueCalled,
        /// <summary>Iterates it: an instance's __iter__/keys() or a class's metaclass runs.</summary>
        Iterated,
    }

    /// <summary>
    /// Functions an unpickler may call whose own code calls one of their arguments: a global handed to them is as
    /// good as called (torch._tensor._rebuild_from_type_v2(func, new_type, args, state) runs func(*args)). The torch
    /// ones are those of torch 2.x's weights_only allow-list that do; the rest are the plain-data constructors
    /// <see cref="GlobalGrades"/> counts as inert, which are inert only for inert arguments.
    /// </summary>
    public static class ArgumentCalls
    {
        private static readonly (int, ArgumentRole)[] None = Array.Empty<(int, ArgumentRole)>();

        private static readonly Dictionary<string, (int Index, ArgumentRole Role)[]> Table = new Dictionary<string, (int, ArgumentRole)[]>(StringComparer.Ordinal)
        {
            // ret = func(*args); ret.as_subclass(new_type); new_type's __setstate__ — func is called
            ["torch._tensor._rebuild_from_type_v2"] = new[] { (0, ArgumentRole.Called) },
            ["torch._tensor._rebuild_from_type"] = new[] { (0, ArgumentRole.Called) },
            // Tensor._make_wrapper_subclass(cls, …)
            ["torch._utils._rebuild_wrapper_subclass"] = new[] { (0, ArgumentRole.Called) },
            // backward_hooks: installed on the tensor, called by autograd
            ["torch._utils._rebuild_tensor_v2"] = new[] { (5, ArgumentRole.EachValueCalled) },
            ["torch._utils._rebuild_tensor_v3"] = new[] { (5, ArgumentRole.EachValueCalled) },
            ["torch._utils._rebuild_parameter"] = new[] { (2, ArgumentRole.EachValueCalled) },
            ["torch._utils._rebuild_parameter_with_state"] = new[] { (2, ArgumentRole.EachValueCalled) },
            ["torch._utils._rebuild_qtensor"] = new[] { (6, ArgumentRole.EachValueCalled) },
            // obj = base.__new__(cls, state); base.__init__(obj, state)
            ["copyreg._reconstructor"] = new[] { (1, ArgumentRole.Called) },
            ["collections.defaultdict"] = new[] { (0, ArgumentRole.Called), (1, ArgumentRole.Iterated) },
            ["collections.OrderedDict"] = new[] { (0, ArgumentRole.Iterated) },
            ["collections.Counter"] = new[] { (0, ArgumentRole.Iterated) },
            ["collections.deque"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.dict"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.list"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.tuple"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.set"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.frozenset"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.bytearray"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.bytes"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.map"] = new[] { (0, ArgumentRole.Called), (1, ArgumentRole.Iterated) },
            ["builtins.filter"] = new[] { (0, ArgumentRole.Called), (1, ArgumentRole.Iterated) },
            ["builtins.iter"] = new[] { (0, ArgumentRole.Called) },
            ["builtins.sorted"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.min"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.max"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.sum"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.any"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.all"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.enumerate"] = new[] { (0, ArgumentRole.Iterated) },
            ["builtins.zip"] = new[] { (0, ArgumentRole.Iterated), (1, ArgumentRole.Iterated) },
            ["builtins.reversed"] = new[] { (0, ArgumentRole.Iterated) },
        };

        /// <summary>Which arguments of the function at <paramref name="fullName"/> (a find_class path) run code, and how.</summary>
        public static IReadOnlyList<(int Index, ArgumentRole Role)> Of(string fullName) => Table.TryGetValue(fullName, out var r) ? r : None;
    }
}
