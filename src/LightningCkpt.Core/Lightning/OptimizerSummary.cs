using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Lightning
{
    /// <summary>One optimizer's state_dict, summarised: kind inferred from its state keys, sizes, learning rates.</summary>
    public sealed class OptimizerSummary
    {
        internal OptimizerSummary(int index, string kind, int paramGroups, int parameters, int stateTensors, long stateBytes, double[] learningRates, long? step)
        {
            Index = index;
            Kind = kind;
            ParamGroups = paramGroups;
            Parameters = parameters;
            StateTensors = stateTensors;
            StateBytes = stateBytes;
            LearningRates = learningRates;
            Step = step;
        }

        public int Index { get; }

        /// <summary>Adam, AdamW (Adam/AdamW before torch 2.6), RAdam, NAdam, SGD (momentum), RMSprop, Adafactor, LBFGS, Lion … inferred from state and param_groups keys.</summary>
        public string Kind { get; }
        public int ParamGroups { get; }
        public int Parameters { get; }
        public int StateTensors { get; }
        public long StateBytes { get; }
        public double[] LearningRates { get; }

        /// <summary>The largest per-parameter 'step' recorded, when the optimizer keeps one.</summary>
        public long? Step { get; }

        /// <summary>The param_groups as saved (lr, betas, weight_decay … and the params indices), for Compare-Ckpt's rows.</summary>
        internal IReadOnlyList<PyDict> ParamGroupStates { get; private set; } = Array.Empty<PyDict>();

        public override string ToString() => Kind;

        internal static OptimizerSummary From(int index, object? optimizerState)
        {
            var d = optimizerState as PyDict;
            var state = d?.Get("state") as PyDict;
            var groups = d?.Get("param_groups") as PyList;
            var stateKeys = new HashSet<string>(StringComparer.Ordinal);
            int tensors = 0;
            long bytes = 0;
            long? step = null;
            if (state != null)
            {
                foreach (var p in state)
                {
                    if (p.Value is not PyDict ps) continue;
                    foreach (var e in ps)
                    {
                        if (e.Key is string k) stateKeys.Add(k);
                        if (e.Value is TensorRef t)
                        {
                            tensors++;
                            bytes += t.NBytes;
                        }
                        if (e.Key is "step" && e.Value is long s) step = Math.Max(step ?? 0, s);
                        if (e.Key is "step" && e.Value is double sd) step = Math.Max(step ?? 0, (long)sd);
                    }
                }
            }
            var groupKeys = new HashSet<string>(StringComparer.Ordinal);
            bool? decoupled = null;
            // an array rather than List<double>: a list over a value type is one more generic type the first call compiles
            var lrs = new double[groups?.Count ?? 0];
            int lrCount = 0;
            int parameters = 0;
            if (groups != null)
            {
                foreach (var item in groups)
                {
                    if (item is not PyDict g) continue;
                    foreach (var e in g.Entries) if (e.Key is string k) groupKeys.Add(k);
                    if (g.Get("decoupled_weight_decay") is bool dwd) decoupled = (decoupled ?? false) || dwd;
                    if (g.Get("lr") is double lr) lrs[lrCount++] = lr;
                    else if (g.Get("lr") is long lrl) lrs[lrCount++] = lrl;
                    if (g.Get("params") is PyList ps) parameters += ps.Count;
                }
            }
            if (lrCount < lrs.Length) Array.Resize(ref lrs, lrCount);
            var groupStates = new List<PyDict>();
            if (groups != null) foreach (var item in groups) if (item is PyDict g) groupStates.Add(g);
            return new OptimizerSummary(index, InferKind(stateKeys, groupKeys, decoupled), groups?.Count ?? 0, parameters, tensors, bytes, lrs, step)
            {
                ParamGroupStates = groupStates,
            };
        }

        /// <summary>
        /// torch optimizers leave tell-tale keys in their per-parameter state and param groups. Adam, AdamW, RAdam and
        /// NAdam all keep exp_avg and exp_avg_sq: NAdam adds mu_product (momentum_decay), only Adam and AdamW have
        /// amsgrad, and since torch 2.6 AdamW is Adam with <paramref name="decoupledWeightDecay"/> true (before it,
        /// the two leave the same keys: "Adam/AdamW").
        /// </summary>
        internal static string InferKind(HashSet<string> state, HashSet<string> groups, bool? decoupledWeightDecay = null)
        {
            if (state.Contains("exp_avg_sq_row") || state.Contains("exp_avg_sq_col")) return "Adafactor";
            // torch.optim.Adafactor (2.5+): row_var/col_var for matrices, variance for vectors; beta2_decay in its groups
            if (state.Contains("row_var") || state.Contains("col_var") || groups.Contains("beta2_decay")) return "Adafactor";
            if (state.Contains("mu_product") || groups.Contains("momentum_decay")) return "NAdam";
            if (state.Contains("exp_inf")) return "Adamax";
            if (state.Contains("acc_delta")) return "Adadelta";
            if (state.Contains("exp_avg") && state.Contains("exp_avg_sq"))
            {
                if (groups.Count > 0 && groups.Contains("betas") && !groups.Contains("amsgrad")) return "RAdam";
                var adam = decoupledWeightDecay == true ? "AdamW" : decoupledWeightDecay == false ? "Adam" : "Adam/AdamW";
                return state.Contains("max_exp_avg_sq") ? adam + " (amsgrad)" : adam;
            }
            if (state.Contains("exp_avg") && groups.Contains("betas")) return "Lion";
            if (state.Contains("square_avg")) return "RMSprop";
            if (state.Contains("sum")) return "Adagrad";
            if (state.Contains("prev") && state.Contains("step_size")) return "Rprop";
            if (state.Contains("eta") && state.Contains("mu") && state.Contains("ax")) return "ASGD";
            if (state.Contains("func_evals") || state.Contains("n_iter")) return "LBFGS";
            if (state.Contains("momentum_buffer")) return "SGD (momentum)";
            if (groups.Contains("momentum") && groups.Contains("nesterov")) return "SGD";
            if (groups.Contains("betas") && groups.Contains("amsgrad"))
                return decoupledWeightDecay == true ? "AdamW" : decoupledWeightDecay == false ? "Adam" : "Adam/AdamW";
            if (groups.Contains("betas")) return "Adam/AdamW";
            if (groups.Contains("alpha") && groups.Contains("centered")) return "RMSprop";
            if (groups.Contains("lr_decay")) return "Adagrad";
            if (groups.Contains("rho")) return "Adadelta";
            if (groups.Contains("max_iter")) return "LBFGS";
            return state.Count == 0 && groups.Count == 0 ? "unknown" : "unknown (" + string.Join(", ", state.Count > 0 ? state : groups) + ")";
        }
    }

    /// <summary>One learning-rate scheduler's state_dict, summarised.</summary>
    public sealed class LrSchedulerSummary
    {
        internal LrSchedulerSummary(int index, string kind, long? lastEpoch, double[] lastLr)
        {
            Index = index;
            Kind = kind;
            LastEpoch = lastEpoch;
            LastLr = lastLr;
        }

        public int Index { get; }
        public string Kind { get; }
        public long? LastEpoch { get; }
        public double[] LastLr { get; }

        /// <summary>The scheduler's state_dict as saved, for Compare-Ckpt's rows.</summary>
        internal PyDict? State { get; private set; }
        public override string ToString() => Kind;

        internal static LrSchedulerSummary From(int index, object? schedulerState)
        {
            var d = schedulerState as PyDict;
            var keys = new HashSet<string>(d?.Keys.OfType<string>() ?? Enumerable.Empty<string>(), StringComparer.Ordinal);
            var lastLr = new List<double>();
            if (d?.Get("_last_lr") is PyList lr) foreach (var v in lr) if (v is double x) lastLr.Add(x); else if (v is long l) lastLr.Add(l);
            return new LrSchedulerSummary(index, InferKind(keys), d?.Get("last_epoch") as long?, lastLr.ToArray()) { State = d };
        }

        internal static string InferKind(HashSet<string> k)
        {
            if (k.Contains("_schedulers")) return k.Contains("_milestones") ? "SequentialLR" : "ChainedScheduler";
            if (k.Contains("total_steps") && k.Contains("anneal_func") || k.Contains("_anneal_func_type")) return "OneCycleLR";
            if (k.Contains("max_lrs") && k.Contains("total_size")) return "CyclicLR";
            if (k.Contains("patience") && k.Contains("cooldown")) return "ReduceLROnPlateau";
            if (k.Contains("T_0")) return "CosineAnnealingWarmRestarts";
            if (k.Contains("T_max")) return "CosineAnnealingLR";
            if (k.Contains("lr_lambdas")) return k.Contains("lr_lambda") ? "LambdaLR" : "LambdaLR/MultiplicativeLR";
            if (k.Contains("milestones")) return "MultiStepLR";
            if (k.Contains("step_size")) return "StepLR";
            if (k.Contains("total_iters") && k.Contains("power")) return "PolynomialLR";
            if (k.Contains("start_factor") && k.Contains("end_factor")) return "LinearLR";
            if (k.Contains("factor") && k.Contains("total_iters")) return "ConstantLR";
            if (k.Contains("gamma")) return "ExponentialLR";
            return k.Count == 0 ? "unknown" : "unknown";
        }
    }
}
