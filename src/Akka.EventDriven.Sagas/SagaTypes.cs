using Akka.Actor;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Sagas;

/// <summary>The stable type names of the saga journal events and messages.</summary>
public static class SagaTypes
{
    /// <summary>Registers the saga events (<c>saga.started.v1</c>, …) and messages in <paramref name="registry"/>.
    /// The orchestrator does this itself; call it on nodes that only read saga events (projections).</summary>
    public static MessageTypeRegistry Register(MessageTypeRegistry registry) => registry
        .Register<SagaStarted>("saga.started")
        .Register<SagaStepCompleted>("saga.step-completed")
        .Register<SagaStepFailed>("saga.step-failed")
        .Register<SagaCompensating>("saga.compensating")
        .Register<SagaStepCompensated>("saga.step-compensated")
        .Register<SagaCompensationFailed>("saga.compensation-failed")
        .Register<SagaCompleted>("saga.completed")
        .Register<SagaCompensated>("saga.compensated")
        .Register<SagaFailed>("saga.failed")
        .Register<Internal.StartSaga>("saga.msg.start")
        .Register<Internal.SagaStartReply>("saga.msg.start-reply")
        .Register<Internal.GetSagaStatus>("saga.msg.get-status")
        .Register<Internal.AwaitSaga>("saga.msg.await")
        .Register<Internal.ResumeSaga>("saga.msg.resume")
        .Register<Internal.SagaStatusReply>("saga.msg.status");
}
