using Akka.Streams;
using Akka.Streams.Stage;
using Akka.Streams.Supervision;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// The first stage of every pipeline, right after its source: counts the elements the source emits and is the
/// pipeline's stop switch (stopping completes everything downstream of it, so operators drain and windows flush, and
/// cancels the source). When the pipeline's first operator is <c>Where</c> or <c>Select</c>, that operator is done
/// here too, so the head costs no stage of its own.
/// </summary>
internal sealed class PipelineHead<TIn, TOut> : GraphStage<FlowShape<TIn, TOut>>
{
    private readonly Inlet<TIn> _in = new("PipelineHead.in");
    private readonly Outlet<TOut> _out = new("PipelineHead.out");
    private readonly PipelineCounters _counters;
    private readonly Func<TIn, bool>? _filter;
    private readonly Func<TIn, TOut>? _map;

    /// <summary>A head that passes elements through (<typeparamref name="TIn"/> = <typeparamref name="TOut"/>),
    /// filters them (<paramref name="filter"/>) or maps them (<paramref name="map"/>).</summary>
    public PipelineHead(PipelineCounters counters, Func<TIn, bool>? filter = null, Func<TIn, TOut>? map = null)
    {
        _counters = counters;
        _filter = filter;
        _map = map;
        Shape = new FlowShape<TIn, TOut>(_in, _out);
    }

    public override FlowShape<TIn, TOut> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("pipeline-head");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this, inheritedAttributes);

    private sealed class Logic : InAndOutGraphStageLogic, IPipelineControl
    {
        private readonly PipelineHead<TIn, TOut> _stage;
        private readonly PipelineCounters _counters;
        private readonly Func<TIn, bool>? _filter;
        private readonly Func<TIn, TOut>? _map;
        private readonly Decider _decider;
        private Action<Exception?>? _stop;

        public Logic(PipelineHead<TIn, TOut> stage, Attributes attributes) : base(stage.Shape)
        {
            _stage = stage;
            _counters = stage._counters;
            _filter = stage._filter;
            _map = stage._map;
            _decider = attributes.GetAttribute<ActorAttributes.SupervisionStrategy>(null)?.Decider ?? Deciders.StoppingDecider;
            SetHandler(stage._in, this);
            SetHandler(stage._out, this);
        }

        public override void PreStart()
        {
            _stop = GetAsyncCallback<Exception?>(ex =>
            {
                if (ex is null) CompleteStage();
                else FailStage(ex);
            });
            _counters.Attach(this);
        }

        public override void PostStop() => _counters.Detach(this);

        public override void OnPush()
        {
            _counters.In++;
            var element = Grab(_stage._in);
            try
            {
                if (_map is not null) Push(_stage._out, _map(element));
                else if (_filter is null || _filter(element)) Push(_stage._out, (TOut)(object)element!);
                else Pull(_stage._in);
            }
            catch (Exception ex)
            {
                if (_decider(ex) == Directive.Stop) FailStage(ex);
                else if (!HasBeenPulled(_stage._in)) Pull(_stage._in);
            }
        }

        public override void OnPull() => Pull(_stage._in);

        public void Stop(Exception? abort) => _stop?.Invoke(abort);
    }
}

/// <summary>Stops a running pipeline materialization.</summary>
internal interface IPipelineControl
{
    /// <summary>Null: complete downstream gracefully and cancel the source; otherwise fail with the exception.</summary>
    void Stop(Exception? abort);
}
