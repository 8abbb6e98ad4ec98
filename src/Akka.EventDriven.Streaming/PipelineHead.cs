using Akka.Streams;
using Akka.Streams.Stage;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// The first stage of every pipeline, right after its source: counts the elements the source emits and is the
/// pipeline's stop switch. Stopping completes everything downstream of it (so operators drain and windows flush)
/// and cancels the source.
/// </summary>
internal sealed class PipelineHead<T>(PipelineCounters counters) : GraphStage<FlowShape<T, T>>
{
    private readonly Inlet<T> _in = new("PipelineHead.in");
    private readonly Outlet<T> _out = new("PipelineHead.out");
    private readonly PipelineCounters _counters = counters;

    public override FlowShape<T, T> Shape => new(_in, _out);

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("pipeline-head");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : InAndOutGraphStageLogic, IPipelineControl
    {
        private readonly PipelineHead<T> _stage;
        private readonly PipelineCounters _counters;
        private Action<Exception?>? _stop;

        public Logic(PipelineHead<T> stage) : base(stage.Shape)
        {
            _stage = stage;
            _counters = stage._counters;
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
            Push(_stage._out, Grab(_stage._in));
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
